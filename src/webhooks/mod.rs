//! Webhooks: the events a tenant can subscribe to, what a delivery carries,
//! how it is signed, where it may go, and the worker that sends it. A
//! delivery is written to the outbox (`store::webhooks::emit`) in the
//! transaction of the change it reports, so a crash loses none; the worker
//! sends it afterwards, off the request path.
pub mod destination;
pub mod notices;
pub mod signature;
pub mod worker;

pub use crate::domain::events::EventType;
