//! Configuration: GitHub's documented rules as defaults, files that leave
//! out what they keep, and invalid settings named by field.

use servitor::github::{
    GitHub, GitHubConfig, RateLimitPolicy, Retries, Throttle, DEFAULT_BASE_URL,
};
use servitor::kit::Backoff;
use std::time::Duration;

fn field_of(config: GitHubConfig) -> String {
    GitHub::service("github", config)
        .unwrap_err()
        .field_name()
        .unwrap()
        .to_string()
}

#[test]
fn the_defaults_follow_githubs_documentation() {
    let c = GitHubConfig::default();
    assert_eq!(c.token, None);
    assert_eq!(c.base_url, DEFAULT_BASE_URL);
    assert_eq!(c.base_url, "https://api.github.com");
    assert_eq!(
        c.user_agent,
        concat!("servitor/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.request_timeout, Duration::from_secs(30));
    assert_eq!(c.throttle.max_concurrent, 10);
    assert_eq!(c.throttle.content_per_minute, 60);
    assert_eq!(c.throttle.content_per_hour, 500);
    assert_eq!(c.rate_limits.max_wait, Duration::from_secs(300));
    assert_eq!(c.rate_limits.secondary_retries, 3);
    let b = c.rate_limits.secondary_backoff;
    let waits: Vec<u64> = (0..6).map(|n| b.delay(n).as_secs()).collect();
    assert_eq!(waits, [60, 120, 240, 480, 900, 900]);
    assert_eq!(c.retries.attempts, 3);
    assert_eq!(c.etag_cache, 512);
    assert_eq!(c.health_interval, Duration::from_secs(10));
}

#[test]
fn a_config_file_leaves_out_what_it_keeps_and_refuses_unknown_fields() {
    let c: GitHubConfig = serde_json::from_str(
        r#"{
            "token": "ghp_x",
            "base_url": "https://ghe.example.com/api/v3",
            "connect_timeout": 2000,
            "throttle": { "content_per_minute": 80 },
            "rate_limits": { "max_wait": 0, "secondary_backoff": { "initial": 90000, "max": 600000 } },
            "retries": { "attempts": 1 }
        }"#,
    )
    .unwrap();
    assert_eq!(c.token.as_ref().unwrap().expose(), "ghp_x");
    assert_eq!(c.connect_timeout, Duration::from_secs(2));
    assert_eq!(
        c.throttle,
        Throttle {
            content_per_minute: 80,
            ..Throttle::default()
        }
    );
    assert_eq!(c.rate_limits.max_wait, Duration::ZERO);
    assert_eq!(c.rate_limits.secondary_retries, 3);
    assert_eq!(
        c.rate_limits.secondary_backoff.initial,
        Duration::from_secs(90)
    );
    assert_eq!(c.retries.attempts, 1);
    assert!(GitHub::service("github", c).is_ok());

    let unknown = serde_json::from_str::<GitHubConfig>(r#"{ "tokn": "x" }"#).unwrap_err();
    assert!(
        unknown.to_string().contains("unknown field `tokn`"),
        "{unknown}"
    );
    let nested = serde_json::from_str::<GitHubConfig>(r#"{ "throttle": { "max": 1 } }"#);
    assert!(nested.is_err());
}

#[test]
fn invalid_settings_name_their_field() {
    let base = GitHubConfig::with_token("ghp_x");
    assert_eq!(
        field_of(GitHubConfig {
            token: Some("".into()),
            ..base.clone()
        }),
        "token"
    );
    assert_eq!(
        field_of(GitHubConfig {
            token: Some("ghp\nx".into()),
            ..base.clone()
        }),
        "token"
    );
    for url in [
        "ftp://example.com",
        "not a url",
        "https://x.com/?a=1",
        "https://u:p@x.com",
    ] {
        assert_eq!(
            field_of(GitHubConfig {
                base_url: url.into(),
                ..base.clone()
            }),
            "base_url",
            "{url}"
        );
    }
    assert_eq!(
        field_of(GitHubConfig {
            user_agent: " ".into(),
            ..base.clone()
        }),
        "user_agent"
    );
    for (field, config) in [
        (
            "connect_timeout",
            GitHubConfig {
                connect_timeout: Duration::ZERO,
                ..base.clone()
            },
        ),
        (
            "request_timeout",
            GitHubConfig {
                request_timeout: Duration::ZERO,
                ..base.clone()
            },
        ),
        (
            "health_interval",
            GitHubConfig {
                health_interval: Duration::ZERO,
                ..base.clone()
            },
        ),
    ] {
        assert_eq!(field_of(config), field);
    }
    let too_eager = GitHubConfig {
        rate_limits: RateLimitPolicy {
            secondary_backoff: Backoff::constant(Duration::from_secs(30)),
            ..RateLimitPolicy::default()
        },
        ..base.clone()
    };
    let err = GitHub::service("github", too_eager).unwrap_err();
    assert_eq!(
        err.field_name(),
        Some("rate_limits.secondary_backoff.initial")
    );
    assert!(err.to_string().contains("a minute"), "{err}");
    let bad_factor = GitHubConfig {
        retries: Retries {
            backoff: Backoff::exponential(Duration::from_millis(1), Duration::from_secs(1))
                .factor(0.5),
            ..Retries::default()
        },
        ..base
    };
    assert_eq!(field_of(bad_factor), "retries.backoff.factor");
}

#[test]
fn the_token_is_redacted_wherever_a_config_is_printed() {
    let c = GitHubConfig::with_token("ghp_s3cr3t");
    let printed = format!("{c:?} {}", serde_json::to_string(&c).unwrap());
    assert!(!printed.contains("ghp_s3cr3t"), "{printed}");
    assert!(printed.contains("[redacted]"));
    // The error for a bad token names the field, never the value.
    let bad = GitHubConfig::with_token("ghp_s3cr3t\r\n");
    let err = GitHub::service("github", bad).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cr3t"));
}
