//! SLA policies: for each request kind and priority, how many business
//! minutes the team has for the first response, each next response and the
//! resolution, and at what share of that a target shows a warning.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Warn when this share (percent) of a target's business minutes is used.
pub const DEFAULT_WARNING_PERCENT: u8 = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        })
    }
}

/// What a request is about (an invoice dispute, a billing question…). Open
/// text rather than an enum: the kinds are data the portal stores, and this
/// module only needs to tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestKind(String);

impl RequestKind {
    pub fn new(kind: impl Into<String>) -> Self {
        Self(kind.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Targets in business minutes of the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTargets {
    pub first_response_minutes: i64,
    /// From each customer message that waits for an answer.
    pub next_response_minutes: i64,
    pub resolution_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy {
    pub kind: RequestKind,
    pub priority: Priority,
    pub targets: SlaTargets,
    /// Share of a target (percent, 1 to 100) from which it shows a warning;
    /// breach is always at 100.
    #[serde(default = "default_warning_percent")]
    pub warning_percent: u8,
}

fn default_warning_percent() -> u8 {
    DEFAULT_WARNING_PERCENT
}

impl SlaPolicy {
    /// A policy with the default warning share.
    pub fn new(kind: RequestKind, priority: Priority, targets: SlaTargets) -> Self {
        Self {
            kind,
            priority,
            targets,
            warning_percent: DEFAULT_WARNING_PERCENT,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("SLA targets must be positive minutes ({kind}, {priority})")]
    NonPositiveTarget {
        kind: RequestKind,
        priority: Priority,
    },
    #[error("an SLA warning share is 1 to 100 percent ({kind}, {priority}: {percent})")]
    BadWarningPercent {
        kind: RequestKind,
        priority: Priority,
        percent: u8,
    },
    #[error("two SLA policies for {kind}, {priority}")]
    Duplicate {
        kind: RequestKind,
        priority: Priority,
    },
}

/// The policy table: at most one policy per kind and priority, each checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<SlaPolicy>", into = "Vec<SlaPolicy>")]
pub struct SlaPolicies {
    policies: Vec<SlaPolicy>,
}

impl SlaPolicies {
    pub fn new(policies: Vec<SlaPolicy>) -> Result<Self, PolicyError> {
        for (i, policy) in policies.iter().enumerate() {
            let named = || (policy.kind.clone(), policy.priority);
            let t = policy.targets;
            if [
                t.first_response_minutes,
                t.next_response_minutes,
                t.resolution_minutes,
            ]
            .iter()
            .any(|&minutes| minutes <= 0)
            {
                let (kind, priority) = named();
                return Err(PolicyError::NonPositiveTarget { kind, priority });
            }
            if !(1..=100).contains(&policy.warning_percent) {
                let (kind, priority) = named();
                return Err(PolicyError::BadWarningPercent {
                    kind,
                    priority,
                    percent: policy.warning_percent,
                });
            }
            if policies[..i]
                .iter()
                .any(|p| p.kind == policy.kind && p.priority == policy.priority)
            {
                let (kind, priority) = named();
                return Err(PolicyError::Duplicate { kind, priority });
            }
        }
        Ok(Self { policies })
    }

    pub fn find(&self, kind: &RequestKind, priority: Priority) -> Option<&SlaPolicy> {
        self.policies
            .iter()
            .find(|p| &p.kind == kind && p.priority == priority)
    }

    pub fn policies(&self) -> &[SlaPolicy] {
        &self.policies
    }
}

impl TryFrom<Vec<SlaPolicy>> for SlaPolicies {
    type Error = PolicyError;

    fn try_from(policies: Vec<SlaPolicy>) -> Result<Self, Self::Error> {
        Self::new(policies)
    }
}

impl From<SlaPolicies> for Vec<SlaPolicy> {
    fn from(policies: SlaPolicies) -> Self {
        policies.policies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(first: i64, next: i64, resolution: i64) -> SlaTargets {
        SlaTargets {
            first_response_minutes: first,
            next_response_minutes: next,
            resolution_minutes: resolution,
        }
    }

    #[test]
    fn policies_are_found_by_kind_and_priority() {
        let dispute = RequestKind::new("invoice_dispute");
        let policies = SlaPolicies::new(vec![
            SlaPolicy::new(dispute.clone(), Priority::Normal, targets(240, 480, 2400)),
            SlaPolicy::new(dispute.clone(), Priority::Urgent, targets(30, 60, 480)),
        ])
        .unwrap();
        let urgent = policies.find(&dispute, Priority::Urgent).unwrap();
        assert_eq!(urgent.targets.first_response_minutes, 30);
        assert_eq!(urgent.warning_percent, 80);
        assert!(policies.find(&dispute, Priority::Low).is_none());
        assert!(policies
            .find(&RequestKind::new("question"), Priority::Normal)
            .is_none());
    }

    #[test]
    fn policies_refuse_empty_targets_odd_warning_shares_and_duplicates() {
        let kind = RequestKind::new("invoice_dispute");
        let policy = SlaPolicy::new(kind.clone(), Priority::High, targets(60, 60, 600));
        assert!(matches!(
            SlaPolicies::new(vec![SlaPolicy {
                targets: targets(60, 0, 600),
                ..policy.clone()
            }]),
            Err(PolicyError::NonPositiveTarget { .. })
        ));
        for percent in [0, 101] {
            assert!(matches!(
                SlaPolicies::new(vec![SlaPolicy {
                    warning_percent: percent,
                    ..policy.clone()
                }]),
                Err(PolicyError::BadWarningPercent { .. })
            ));
        }
        assert_eq!(
            SlaPolicies::new(vec![policy.clone(), policy]),
            Err(PolicyError::Duplicate {
                kind,
                priority: Priority::High
            })
        );
    }

    #[test]
    fn policies_are_stored_as_a_json_list_with_the_default_warning_share_optional() {
        let json = serde_json::json!([{
            "kind": "invoice_dispute",
            "priority": "urgent",
            "targets": {"first_response_minutes": 30, "next_response_minutes": 60, "resolution_minutes": 480},
        }]);
        let policies: SlaPolicies = serde_json::from_value(json).unwrap();
        assert_eq!(policies.policies()[0].warning_percent, 80);
        let back = serde_json::to_value(&policies).unwrap();
        assert_eq!(back[0]["warning_percent"], 80);
        assert_eq!(
            serde_json::from_value::<SlaPolicies>(back).unwrap(),
            policies
        );
        let zero = serde_json::json!([{
            "kind": "q", "priority": "low", "warning_percent": 0,
            "targets": {"first_response_minutes": 1, "next_response_minutes": 1, "resolution_minutes": 1},
        }]);
        assert!(serde_json::from_value::<SlaPolicies>(zero).is_err());
    }
}
