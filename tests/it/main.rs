//! Integration tests, one binary (link once): real samples, and the real `trendlake` binary
//! against the in-process fake API on loopback.

mod cli;
mod faults;
mod pipeline;
mod samples;
mod support;
