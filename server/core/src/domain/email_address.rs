//! Parse, don't validate: an `EmailAddress` can only hold a plausible,
//! normalised address (trimmed, lower-cased), so lookups by email are exact.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Enter an email address like name@company.com")]
pub struct InvalidEmail;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let email = input.trim().to_lowercase();
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidEmail);
        }
        let (local, domain) = email.split_once('@').ok_or(InvalidEmail)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        if local.is_empty()
            || local.len() > 64
            || !domain_ok
            || email.contains(['<', '>', ',', ';', '"'])
        {
            return Err(InvalidEmail);
        }
        Ok(EmailAddress(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(
            EmailAddress::parse("  AP@Northwind.Example ")
                .unwrap()
                .as_str(),
            "ap@northwind.example"
        );
    }

    #[test]
    fn refuses_what_cannot_be_an_address() {
        for bad in [
            "",
            "ap",
            "ap@",
            "@x.com",
            "ap@localhost",
            "a p@x.com",
            "ap@x..com",
            "a@b@c.com",
            "<a@b.com>",
            "a@b.com,c@d.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(InvalidEmail),
                "{bad:?} was accepted"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_output_reparses(s in "\\PC{0,80}") {
            if let Ok(e) = EmailAddress::parse(&s) {
                proptest::prop_assert_eq!(EmailAddress::parse(e.as_str()), Ok(e.clone()));
            }
        }
    }
}
