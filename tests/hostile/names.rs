//! Names that would print as something else are refused everywhere a name
//! is given.

use servitor::cache::{Cache, CacheConfig};
use servitor::kit::NameError;
use servitor::{BuildError, ChildSpec, ConfigError, Supervisor};

#[derive(Default)]
struct Nop;
impl actix::Actor for Nop {
    type Context = actix::Context<Self>;
}
impl servitor::Service for Nop {}

#[test]
fn zero_width_byte_order_and_bidi_characters_are_refused_in_names() {
    for bad in [
        "\u{200b}",
        "\u{feff}",
        "\u{200b}\u{feff}",
        "admin\u{202e}txt",
        "a\u{2066}b",
    ] {
        let err = Supervisor::builder("app")
            .child(ChildSpec::service(bad, Nop::default))
            .build()
            .unwrap_err();
        assert!(
            matches!(
                err,
                BuildError::InvalidName {
                    problem: NameError::Invisible(_),
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
        let err = Supervisor::builder(bad).build().unwrap_err();
        assert!(matches!(err, BuildError::InvalidName { .. }), "{bad:?}");
        let err = Cache::<u32, u32>::service(bad, CacheConfig::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::InvalidName {
                    problem: NameError::Invisible(_),
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
    }
    let err = Supervisor::builder("a\u{202e}b").build().unwrap_err();
    assert!(err.to_string().contains("U+202E"), "{err}");
}
