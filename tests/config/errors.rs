//! Bad input: each class of mistake is a typed error naming the file, line
//! and column and the key path, before anything starts.

use crate::common::{toml, toml_err, types, yaml_err, TempDir};
use servitor::cache::{Cache, CacheConfig};
use servitor::config::{LoadError, Location};

const HEAD: &str = "[supervisor]\nname = \"app\"\n";

fn with_head(rest: &str) -> String {
    format!("{HEAD}{rest}")
}

#[test]
fn a_value_of_the_wrong_type_names_line_column_and_key_path() {
    let text = with_head(
        "\n[[child]]\ntype = \"ingest\"\nname = \"ingest\"\nconfig = { region = \"eu\" }\n\n\
         [[child]]\ntype = \"cache\"\nname = \"sessions\"\nconfig = { capacity = \"lots\" }\n",
    );
    let err = toml(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "<string>:12:23: app.child[1].config.capacity: expected an integer, found \"lots\""
    );
    assert_eq!(err.path(), Some("app.child[1].config.capacity"));
    let at = err.location().unwrap();
    assert_eq!((at.line(), at.column()), (Some(12), Some(23)));
    assert!(matches!(err, LoadError::Invalid { .. }));
}

#[test]
fn numbers_out_of_range_durations_and_enum_values_say_what_is_expected() {
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"tasks\"\nname = \"jobs\"\nconfig = { workers = -1 }\n"
        )),
        "<string>:6:22: app.child[0].config.workers: expected an integer from 0 to \
         18446744073709551615, found -1"
    );
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"cache\"\nname = \"c\"\nconfig = { default_ttl = \"5 parsecs\" }\n"
        )),
        "<string>:6:26: app.child[0].config.default_ttl: invalid duration \"5 parsecs\" \
         (unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, \
         weeks, months, years (and few variations)); expected a duration: whole milliseconds, \
         or a string such as \"250ms\", \"5s\" or \"30m\""
    );
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\nstrategy = \"one_for_none\"\n"),
        "<string>:3:12: app.strategy: unknown value `one_for_none`; did you mean `one_for_one`?"
    );
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\nauto_shutdown = \"sometimes\"\n"),
        "<string>:3:17: app.auto_shutdown: unknown value `sometimes` (expected one of `never`, \
         `any_significant`, `all_significant`)"
    );
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\nintensity = { max_restarts = true }\n"),
        "<string>:3:30: app.intensity.max_restarts: expected an integer, found true"
    );
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"ingest\"\nname = \"i\"\nshutdown = \"soon\"\nconfig = { region = \"eu\" }\n"
        )),
        "<string>:6:12: app.child[0].shutdown: expected \"kill\", \"infinity\" or a timeout \
         such as \"5s\", found \"soon\""
    );
}

#[test]
fn an_unknown_type_lists_the_registered_ones() {
    let err = toml(&with_head(
        "[[child]]\ntype = \"cahce\"\nname = \"sessions\"\n",
    ))
    .unwrap_err();
    let LoadError::UnknownType { name, known, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(name, "cahce");
    assert!(known.contains(&"ingest".to_string()) && known.contains(&"supervisor".to_string()));
    assert_eq!(
        err.to_string(),
        format!(
            "<string>:4:8: app.child[0].type: unknown service type `cahce`; did you mean \
             `cache`? (registered: {})",
            known.join(", ")
        )
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"zzz\"\nname = \"x\"\n")),
        format!(
            "<string>:4:8: app.child[0].type: unknown service type `zzz` (registered: {})",
            known.join(", ")
        )
    );
}

#[test]
fn unknown_keys_are_errors_everywhere() {
    // In a config: a typo.
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"cache\"\nname = \"c\"\nconfig = { capcity = 5 }\n"
        )),
        "<string>:6:12: app.child[0].config: unknown key `capcity`; did you mean `capacity`?"
    );
    // A child option misspelt.
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"cache\"\nname = \"c\"\nrestrat = \"transient\"\n"
        )),
        "<string>:6:1: app.child[0]: unknown key `restrat`; did you mean `restart`?"
    );
    // A supervisor option on a service.
    let err = toml_err(&with_head(
        "[[child]]\ntype = \"cache\"\nname = \"c\"\nstrategy = \"one_for_all\"\n",
    ));
    assert_eq!(
        err,
        "<string>:6:1: app.child[0]: unknown key `strategy` (expected one of `type`, `name`, \
         `config`, `restart`, `shutdown`, `start_timeout`, `significant`, `placement`)"
    );
    // At the top, in the supervisor, in a nested table.
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\n[[chlid]]\n"),
        "<string>:3:3: top level: unknown key `chlid`; did you mean `child`?"
    );
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\nstrategyy = \"one_for_one\"\n"),
        "<string>:3:1: app: unknown key `strategyy`; did you mean `strategy`?"
    );
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\nintensity = { restarts = 3 }\n"),
        "<string>:3:15: app.intensity: unknown key `restarts` (expected one of `max_restarts`, `period`)"
    );
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\n[runtime]\nshutdown_deadlin = \"5s\"\n"),
        "<string>:4:1: runtime: unknown key `shutdown_deadlin`; did you mean `shutdown_deadline`?"
    );
}

#[test]
fn missing_keys_name_the_table() {
    assert_eq!(
        toml_err("[runtime]\n"),
        "<string>:1:1: top level: missing key `supervisor`"
    );
    assert_eq!(
        toml_err("[supervisor]\nstrategy = \"one_for_all\"\n"),
        "<string>:1:1: supervisor: missing key `name`"
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\nname = \"c\"\n")),
        "<string>:3:1: app.child[0]: missing key `type`"
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"ingest\"\nname = \"i\"\n")),
        "<string>:3:1: app.child[0].config: missing key `region`"
    );
}

#[test]
fn duplicate_names_name_both_places() {
    let err = toml(&with_head(
        "[[child]]\ntype = \"cache\"\nname = \"sessions\"\n\n\
         [[child]]\ntype = \"supervisor\"\nname = \"work\"\n\
         [[child.child]]\ntype = \"bus\"\nname = \"sessions\"\n",
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "<string>:12:8: app.child[1].child[0].name: the name `sessions` is used twice in the \
         tree (first at <string>:5:8)"
    );
    let LoadError::DuplicateName { name, first, .. } = err else {
        panic!()
    };
    assert_eq!(name, "sessions");
    assert_eq!(first.unwrap().line(), Some(5));
    // The root's own name counts too.
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"cache\"\nname = \"app\"\n")),
        "<string>:5:8: app.child[0].name: the name `app` is used twice in the tree (first at \
         <string>:2:8)"
    );
}

#[test]
fn invalid_values_get_the_same_checks_as_in_code_placed_at_their_key() {
    let in_code = Cache::<String, serde_json::Value>::service(
        "c",
        CacheConfig {
            capacity: 0,
            ..CacheConfig::default()
        },
    )
    .unwrap_err();
    assert_eq!(in_code.to_string(), "`c`: `capacity` must be at least 1");
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"cache\"\nname = \"c\"\nconfig = { capacity = 0 }\n"
        )),
        "<string>:6:23: app.child[0].config.capacity: must be at least 1"
    );
    // A user type's own validation.
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"ingest\"\nname = \"i\"\nconfig = { region = \"eu\", batch = 0 }\n"
        )),
        "<string>:6:35: app.child[0].config.batch: must be at least 1"
    );
    // A nested field of a built-in.
    assert_eq!(
        toml_err(&with_head(
            "[[child]]\ntype = \"tasks\"\nname = \"t\"\n[child.config]\ndegraded_failure_rate = 2.0\n"
        )),
        "<string>:7:25: app.child[0].config.degraded_failure_rate: must be in (0, 1]"
    );
    // The supervisor builder's checks.
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\nintensity = { max_restarts = 0 }\n"),
        "<string>:3:30: app.intensity.max_restarts: must be at least 1"
    );
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\nbackoff = { initial = \"2s\", max = \"1s\" }\n"),
        "<string>:3:35: app.backoff.max: must not be below `initial`"
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"ingest\"\nname = \"i\"\nstart_timeout = 0\nconfig = { region = \"eu\" }\n")),
        "<string>:6:17: app.child[0].start_timeout: must be above zero"
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"ingest\"\nname = \"i\"\nshutdown = \"0s\"\nconfig = { region = \"eu\" }\n")),
        "<string>:6:12: app.child[0].shutdown: must be above zero (use kill_on_stop to kill at once)"
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"ingest\"\nname = \"i\"\nsignificant = true\nconfig = { region = \"eu\" }\n")),
        "<string>:6:15: app.child[0].significant: a permanent child cannot be significant"
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"ingest\"\nname = \"i\"\nsignificant = true\nrestart = \"transient\"\nconfig = { region = \"eu\" }\n")),
        "<string>:1:1: app.auto_shutdown: is `never`, so a significant child is not allowed"
    );
    // Names follow the tree's rules.
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"cache\"\nname = \"a b\"\n")),
        "<string>:5:8: app.child[0].name: the name `a b` is invalid: it contains whitespace or a \
         control character"
    );
    assert_eq!(
        toml_err(&with_head("[[child]]\ntype = \"ingest\"\nname = \"a/b\"\nconfig = { region = \"eu\" }\n")),
        "<string>:5:8: app.child[0].name: the name `a/b` is invalid: it contains `/`, the path separator"
    );
}

#[test]
fn syntax_errors_name_the_position() {
    let err = toml("[supervisor]\nname = \"app\n").unwrap_err();
    assert!(matches!(err, LoadError::Syntax { .. }), "{err:?}");
    assert_eq!(err.location().unwrap().line(), Some(2));
    let err = toml("[supervisor]\nname = \"app\"\nname = \"again\"\n").unwrap_err();
    assert_eq!(err.location().unwrap().line(), Some(3), "{err}");

    let err = yaml_err("supervisor:\n  name: app\n  name: again\n");
    assert_eq!(err, "<string>:3:3: the key `name` is given twice");
    let err = yaml_err("supervisor:\n  name: [app\n");
    assert!(err.starts_with("<string>:3:"), "{err}");
    assert_eq!(
        yaml_err("supervisor:\n  name: app\n---\nsupervisor: {}\n"),
        "<string>:3:1: a second document; a configuration is one document"
    );
    assert_eq!(
        yaml_err("supervisor:\n  name: !custom app\n"),
        "<string>:2:9: the tag `!custom` is not supported"
    );
}

#[test]
fn yaml_errors_are_the_same_errors() {
    assert_eq!(
        yaml_err(
            "supervisor:\n  name: app\nchildren:\n  - type: cache\n    name: sessions\n    \
             config:\n      capacity: lots\n"
        ),
        "<string>:7:17: app.children[0].config.capacity: expected an integer, found \"lots\""
    );
    assert_eq!(
        yaml_err("supervisor:\n  name: app\nchildren:\n  - type: cache\n    name: c\n    config: { capcity: 5 }\n"),
        "<string>:6:15: app.children[0].config: unknown key `capcity`; did you mean `capacity`?"
    );
    // `yes` is a string in YAML 1.2, not a boolean.
    assert_eq!(
        yaml_err("supervisor:\n  name: app\nchildren:\n  - type: ingest\n    name: i\n    significant: yes\n    config: { region: eu }\n"),
        "<string>:6:18: app.children[0].significant: expected true or false, found \"yes\""
    );
}

#[test]
fn files_that_cannot_be_read_or_have_no_known_format_are_errors() {
    let dir = TempDir::new("errors");
    let missing = dir.0.join("absent.toml");
    let err = types().tree_from_file(&missing).unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }));
    assert!(err
        .to_string()
        .starts_with(&format!("{}: cannot be read: ", missing.display())));
    let ini = dir.write("servitor.ini", "x");
    assert_eq!(
        types().tree_from_file(&ini).unwrap_err().to_string(),
        format!(
            "{}: unknown format: name the file `.toml`, `.yaml` or `.yml`",
            ini.display()
        )
    );
    let file = dir.write("servitor.toml", "[supervisor]\nname = 5\n");
    let err = types().tree_from_file(&file).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:8: supervisor.name: expected a string, found 5",
            file.display()
        )
    );
    assert!(matches!(
        err.location(),
        Some(Location::Text {
            line: 2,
            column: 8,
            ..
        })
    ));
}

#[test]
fn a_runtime_setting_out_of_range_is_refused_at_load_naming_it() {
    assert_eq!(
        toml_err("[supervisor]\nname = \"app\"\n[runtime]\npool_size = 0\n"),
        "<string>:4:13: runtime.pool_size: must be from 1 to 1024"
    );
}
