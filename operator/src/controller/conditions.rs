//! The `Ready` condition of refit's objects, built so that it compares
//! equal while nothing changes: its transition time moves only when its
//! status does, so writing the same verdict twice is a no-op.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::conditions::types;

/// The `Ready` condition: `ready` with `reason` and `message`, for the
/// spec `generation`, keeping the previous transition time when the status
/// is the same.
pub fn ready(
    previous: &[Condition],
    ready: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: Time,
) -> Condition {
    let status = if ready { "True" } else { "False" };
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == types::READY && c.status == status)
        .map_or(now, |c| c.last_transition_time.clone());
    Condition {
        type_: types::READY.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message,
        last_transition_time,
        observed_generation: generation,
    }
}

/// The `Ready` condition in `conditions`, if any.
pub fn find_ready(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == types::READY)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid"))
    }

    #[test]
    fn the_transition_time_moves_only_when_the_status_does() {
        let first = ready(&[], true, "Reconciled", "ok".into(), Some(1), at(10));
        assert_eq!(first.last_transition_time, at(10));
        let same = ready(
            std::slice::from_ref(&first),
            true,
            "Reconciled",
            "still ok".into(),
            Some(2),
            at(20),
        );
        assert_eq!(same.last_transition_time, at(10));
        let flipped = ready(&[same], false, "InvalidSpec", "bad".into(), Some(3), at(30));
        assert_eq!(flipped.last_transition_time, at(30));
    }
}
