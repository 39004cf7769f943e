//! The links of the invoice list: its pages, its sortable column headers and
//! its CSV export. Every link keeps the filters; page links and the export
//! also keep the sort, so paging never reorders what the person is reading.

use super::invoice_query::{Cursor, Direction, InvoiceQuery, SortKey};

/// `path` with `pairs` as its query string; no pairs, the bare path.
pub fn with_query<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        query.append_pair(key, &value);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The order a column sorts in when first chosen, the one people expect:
/// newest dates and biggest amounts first; text (and status, by urgency)
/// from the top.
pub fn first_direction(key: SortKey) -> Direction {
    match key {
        SortKey::Number | SortKey::Po | SortKey::Status => Direction::Asc,
        SortKey::Issued | SortKey::Due | SortKey::Total | SortKey::Balance => Direction::Desc,
    }
}

/// The links of one page of the list at `path` (the list's own address).
pub struct ListLinks<'a> {
    path: &'a str,
    query: &'a InvoiceQuery,
}

impl<'a> ListLinks<'a> {
    pub fn new(path: &'a str, query: &'a InvoiceQuery) -> ListLinks<'a> {
        ListLinks { path, query }
    }

    /// The page after the row at `cursor` (the last row shown).
    pub fn next(&self, cursor: &Cursor) -> String {
        self.page("after", cursor)
    }

    /// The page before the row at `cursor` (the first row shown).
    pub fn previous(&self, cursor: &Cursor) -> String {
        self.page("before", cursor)
    }

    fn page(&self, side: &'static str, cursor: &Cursor) -> String {
        let mut pairs = self.query.sorted_pairs();
        pairs.push((side, cursor.encode()));
        with_query(self.path, pairs)
    }

    /// The direction the list is sorted in by `key`, if it is.
    pub fn sorted_by(&self, key: SortKey) -> Option<Direction> {
        (self.query.sort == key).then_some(self.query.direction)
    }

    /// A column header: the active column flips its direction, another one
    /// starts in its `first_direction`. Back to the first page.
    pub fn sort(&self, key: SortKey) -> String {
        let direction = match self.sorted_by(key) {
            Some(current) => current.flipped(),
            None => first_direction(key),
        };
        let mut pairs = self.query.filter_pairs();
        pairs.push(("sort", key.key().to_owned()));
        pairs.push(("dir", direction.key().to_owned()));
        with_query(self.path, pairs)
    }

    /// Everything that matches, in the list's order, at `path`.
    pub fn export(&self, path: &str) -> String {
        with_query(path, self.query.sorted_pairs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invoice_query::StatusFilter;

    const LIST: &str = "/accounts/7/invoices";

    fn query(pairs: &[(&str, &str)]) -> InvoiceQuery {
        InvoiceQuery::from_pairs(pairs.iter().copied()).unwrap()
    }

    #[test]
    fn no_pairs_is_the_bare_path() {
        assert_eq!(with_query(LIST, []), LIST);
        assert_eq!(
            with_query(LIST, [("q", "PO 7&8".to_owned())]),
            "/accounts/7/invoices?q=PO+7%268"
        );
    }

    #[test]
    fn a_column_first_chosen_sorts_the_expected_way() {
        let q = InvoiceQuery::default();
        let links = ListLinks::new(LIST, &q);
        assert_eq!(
            links.sort(SortKey::Number),
            format!("{LIST}?sort=number&dir=asc")
        );
        assert_eq!(links.sort(SortKey::Po), format!("{LIST}?sort=po&dir=asc"));
        assert_eq!(
            links.sort(SortKey::Status),
            format!("{LIST}?sort=status&dir=asc")
        );
        assert_eq!(
            links.sort(SortKey::Issued),
            format!("{LIST}?sort=issued&dir=desc")
        );
        assert_eq!(
            links.sort(SortKey::Total),
            format!("{LIST}?sort=total&dir=desc")
        );
        assert_eq!(
            links.sort(SortKey::Balance),
            format!("{LIST}?sort=balance&dir=desc")
        );
    }

    #[test]
    fn the_active_column_flips() {
        // The default list is by due date, newest first.
        let q = InvoiceQuery::default();
        let links = ListLinks::new(LIST, &q);
        assert_eq!(links.sorted_by(SortKey::Due), Some(Direction::Desc));
        assert_eq!(links.sorted_by(SortKey::Total), None);
        assert_eq!(links.sort(SortKey::Due), format!("{LIST}?sort=due&dir=asc"));

        let q = query(&[("sort", "number"), ("dir", "asc")]);
        let links = ListLinks::new(LIST, &q);
        assert_eq!(
            links.sort(SortKey::Number),
            format!("{LIST}?sort=number&dir=desc")
        );
    }

    #[test]
    fn sorting_keeps_the_filters_and_drops_the_cursor() {
        let q = query(&[
            ("status", "overdue"),
            ("q", "PO-7"),
            ("sort", "balance"),
            ("dir", "asc"),
            ("after", "125050~42"),
        ]);
        assert_eq!(q.status, Some(StatusFilter::Overdue));
        let links = ListLinks::new(LIST, &q);
        assert_eq!(
            links.sort(SortKey::Issued),
            format!("{LIST}?status=overdue&q=PO-7&sort=issued&dir=desc")
        );
    }

    #[test]
    fn pages_keep_the_filters_and_the_sort_and_carry_their_cursor() {
        let q = query(&[
            ("currency", "EUR"),
            ("min", "10.5"),
            ("sort", "number"),
            ("dir", "asc"),
            ("after", "INV-9~9"),
        ]);
        let links = ListLinks::new(LIST, &q);
        let cursor = |value: &str, invoice_id| Cursor {
            value: value.to_owned(),
            invoice_id,
        };
        assert_eq!(
            links.next(&cursor("INV-20", 20)),
            format!("{LIST}?currency=EUR&min=10.5&sort=number&dir=asc&after=INV-20%7E20")
        );
        assert_eq!(
            links.previous(&cursor("INV-11", 11)),
            format!("{LIST}?currency=EUR&min=10.5&sort=number&dir=asc&before=INV-11%7E11")
        );
    }

    #[test]
    fn the_export_keeps_filters_and_sort_but_not_the_page() {
        let q = query(&[("status", "unpaid"), ("before", "2026-01-01~3")]);
        let links = ListLinks::new(LIST, &q);
        assert_eq!(
            links.export("/accounts/7/invoices.csv"),
            "/accounts/7/invoices.csv?status=unpaid&sort=due&dir=desc"
        );
    }
}
