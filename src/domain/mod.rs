//! Plain data and the rules of its shape. No I/O here.
pub mod api_key;
pub mod audit;
pub mod events;
pub mod ids;
pub mod model;
pub mod names;
pub mod principal;
pub mod time;
pub mod webhooks;
