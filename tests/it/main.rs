//! Integration tests, one binary (link once): real samples, and the real `trendlake` binary
//! against the in-process fake API on loopback.

mod api_key;
mod archive;
mod categories;
mod cli;
mod crash;
mod ddl;
mod deploy;
mod docs;
mod faults;
mod history;
mod library_chart;
mod library_history;
mod library_trajectory;
mod lineage;
mod messages;
mod metrics;
mod notebooks;
mod pipeline;
mod prompt;
mod query_formats;
mod readme;
mod repo;
mod report;
mod report_browser;
mod s3_proxy;
mod samples;
mod scripts;
mod settings;
mod storage;
mod support;
mod time_zones;
mod tracking;
mod warehouse;
