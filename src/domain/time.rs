//! How times are written: fixed-width RFC 3339 UTC text with microseconds,
//! so that stored times sort as they compare, and every audit record, event
//! body and Cedar context spells a time the same way.
use chrono::{DateTime, SecondsFormat, Utc};

pub fn to_sql(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}
