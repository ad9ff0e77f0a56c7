//! The YouTube Data API: its wire model (`model`) and an HTTP client for `videos.list?chart=mostPopular`.

pub mod client;
pub mod model;

pub use client::{ApiError, ApiKey, ChartPage, Client, ClientError, ErrorKind, is_loopback_url};
