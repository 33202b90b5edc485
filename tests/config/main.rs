//! Behaviour suite: trees and services from configuration files.

mod combine;
mod common;
mod env;
mod errors;
mod examples;
mod options;
mod properties;
mod secrets;
