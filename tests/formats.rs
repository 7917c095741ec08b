//! Machine output formats, checked against their consumers' rules.

mod common;

use std::path::Path;
use std::process::Command;

use common::{tree, WAIT_UNDER_IF};

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_threadlint"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("CI_PROJECT_DIR");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Many findings, in a file whose name has the characters GitHub's properties must escape.
fn busy_tree() -> tempfile::TempDir {
    let mut source = String::from(
        "import threading\ncond = threading.Condition()\nlock = threading.Lock()\nx = []\n",
    );
    for i in 0..12 {
        source.push_str(&format!(
            "\ndef f{i}():\n    with cond:\n        if not x:\n            cond.wait()\n"
        ));
        source.push_str(&format!(
            "\ndef g{i}():\n    with lock:\n        with lock:\n            pass\n"
        ));
    }
    tree(&[("pkg/we,ird:name%.py", &source)])
}

#[test]
fn github_annotations_follow_the_workflow_command_grammar() {
    let dir = busy_tree();
    let output = run(
        dir.path(),
        &["check", "--output-format", "github", "--no-cache"],
        &[("GITHUB_WORKSPACE", dir.path().to_str().unwrap())],
    );
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 24 + 1, "{output}");
    for line in &lines[..24] {
        let (command, data) = line[2..].split_once("::").expect("`::level props::data`");
        let (level, properties) = command.split_once(' ').unwrap();
        assert!(matches!(level, "error" | "warning"), "{line}");
        // Data: no raw newline or carriage return, every `%` starts an escape.
        assert!(!data.contains('\r') && !data.contains('\n'));
        for (i, _) in data.match_indices('%') {
            assert!(matches!(&data[i..i + 3], "%25" | "%0D" | "%0A"), "{line}");
        }
        let mut keys = Vec::new();
        for property in properties.split(',') {
            let (key, value) = property.split_once('=').expect("key=value");
            assert!(
                !value.contains(':') && !value.contains(','),
                "unescaped property in {line}"
            );
            keys.push(key);
            if key == "file" {
                assert_eq!(
                    value, "pkg/we%2Cird%3Aname%25.py",
                    "relative to GITHUB_WORKSPACE, escaped"
                );
            }
        }
        assert_eq!(
            keys,
            ["file", "line", "col", "endLine", "endColumn", "title"],
            "{line}"
        );
        assert!(
            data.contains("%0Ahelp: "),
            "the help line is escaped into the message"
        );
    }
    assert!(lines.iter().filter(|l| l.starts_with("::error")).count() == 12);
    assert!(
        lines[24].starts_with("::notice title=threadlint::4 more findings than GitHub shows"),
        "{}",
        lines[24]
    );
}

#[test]
fn github_multiline_findings_omit_columns() {
    let source = "import threading\ncond = threading.Condition()\n\ndef f():\n    with cond:\n        cond.wait(\n            timeout=None,\n        )\n";
    let dir = tree(&[("a.py", source)]);
    let output = run(
        dir.path(),
        &["check", "--output-format", "github", "--select", "TL002"],
        &[],
    );
    assert_eq!(
        output.lines().next().unwrap().split("::").nth(1).unwrap(),
        "warning file=a.py,line=6,endLine=8,title=threadlint (TL002)"
    );
}

#[test]
fn gitlab_code_quality_has_every_required_field() {
    let dir = busy_tree();
    let output = run(
        dir.path(),
        &["check", "--output-format", "gitlab"],
        &[("CI_PROJECT_DIR", dir.path().to_str().unwrap())],
    );
    let issues: Vec<serde_json::Value> = serde_json::from_str(&output).unwrap();
    assert_eq!(issues.len(), 24);
    let mut fingerprints = std::collections::HashSet::new();
    for issue in &issues {
        assert!(issue["description"].as_str().unwrap().starts_with("TL00"));
        assert!(issue["check_name"].is_string());
        assert!(matches!(
            issue["severity"].as_str().unwrap(),
            "info" | "minor" | "major" | "critical" | "blocker"
        ));
        assert_eq!(issue["location"]["path"], "pkg/we,ird:name%.py");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() > 0);
        assert!(
            fingerprints.insert(issue["fingerprint"].as_str().unwrap().to_string()),
            "fingerprints are unique"
        );
    }
}

#[test]
fn gitlab_fingerprints_survive_moved_lines() {
    let dir = tree(&[("a.py", WAIT_UNDER_IF)]);
    let before: Vec<serde_json::Value> = serde_json::from_str(&run(
        dir.path(),
        &["check", "--output-format", "gitlab"],
        &[],
    ))
    .unwrap();
    std::fs::write(
        dir.path().join("a.py"),
        format!("# a comment\n\n\n{WAIT_UNDER_IF}"),
    )
    .unwrap();
    let after: Vec<serde_json::Value> = serde_json::from_str(&run(
        dir.path(),
        &["check", "--output-format", "gitlab"],
        &[],
    ))
    .unwrap();
    assert_eq!(before[0]["fingerprint"], after[0]["fingerprint"]);
    assert_ne!(
        before[0]["location"]["lines"]["begin"],
        after[0]["location"]["lines"]["begin"]
    );
}

#[test]
fn sarif_has_rules_regions_related_locations_and_fixes() {
    let dir = tree(&[
        ("a.py", WAIT_UNDER_IF),
        ("b.py", "import threading\na = threading.Lock()\nb = threading.Lock()\n\ndef f():\n    with a:\n        with b:\n            pass\n\ndef g():\n    with b:\n        with a:\n            pass\n"),
    ]);
    let output = run(dir.path(), &["check", "--output-format", "sarif"], &[]);
    let sarif: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("file:///"));
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), threadlint_rules::RULES.len());
    for rule in rules {
        for field in [
            "id",
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "helpUri",
            "defaultConfiguration",
        ] {
            assert!(!rule[field].is_null(), "rule {} lacks {field}", rule["id"]);
        }
    }
    let results = run["results"].as_array().unwrap();
    let wait = results.iter().find(|r| r["ruleId"] == "TL002").unwrap();
    let location = &wait["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "a.py");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 10);
    assert_eq!(location["region"]["startColumn"], 13);
    assert_eq!(
        wait["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"],
        "while"
    );
    assert!(wait["partialFingerprints"]["primaryLocationLineHash"].is_string());
    let cycle = results.iter().find(|r| r["ruleId"] == "TL004").unwrap();
    let related = cycle["relatedLocations"].as_array().unwrap();
    assert!(!related.is_empty());
    assert_eq!(related[0]["id"], 1);
    assert!(cycle["message"]["text"].as_str().unwrap().contains("](1)"));
}

#[test]
fn junit_is_well_formed() {
    let dir = tree(&[
        ("a.py", WAIT_UNDER_IF),
        ("b.py", "x = 1 # noqa: TL999 <&>\n"),
    ]);
    let output = run(dir.path(), &["check", "--output-format", "junit"], &[]);
    assert!(output.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"threadlint\" tests=\"2\" failures=\"2\""));
    assert_eq!(output.matches("<testcase ").count(), 2);
    assert_eq!(
        output.matches("<testsuite ").count(),
        output.matches("</testsuite>").count()
    );
    let clean = tree(&[("ok.py", "x = 1\n")]);
    let output = run(clean.path(), &["check", "--output-format", "junit"], &[]);
    assert!(output.contains("tests=\"1\" failures=\"0\""));
}

#[test]
fn json_lines_is_one_object_per_line() {
    let dir = busy_tree();
    let output = run(dir.path(), &["check", "--output-format", "json-lines"], &[]);
    for line in output.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(value["code"].is_string());
    }
    assert_eq!(output.lines().count(), 24);
}

/// SARIF's shape for a code flow (2.1.0, §3.36-3.38): a code flow holds one or more thread
/// flows, a thread flow one or more locations, each a `location` with a physical location.
#[test]
fn sarif_code_flows_give_each_side_of_a_cycle_with_its_calls() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/projects/rust_pool");
    let output = run(
        &project,
        &["check", "--output-format", "sarif", "--no-cache", "."],
        &[("GITHUB_WORKSPACE", project.to_str().unwrap())],
    );
    let sarif: serde_json::Value = serde_json::from_str(&output).unwrap();
    let mut flows = Vec::new();
    for result in sarif["runs"][0]["results"].as_array().unwrap() {
        let location = &result["locations"][0]["physicalLocation"];
        flows.push(format!(
            "{} {}:{}",
            result["ruleId"].as_str().unwrap(),
            location["artifactLocation"]["uri"].as_str().unwrap(),
            location["region"]["startLine"]
        ));
        let code_flows = result["codeFlows"]
            .as_array()
            .expect("every finding here has one");
        for code_flow in code_flows {
            flows.push(format!(
                "  {}",
                code_flow["message"]["text"].as_str().unwrap()
            ));
            let threads = code_flow["threadFlows"].as_array().unwrap();
            assert!(!threads.is_empty());
            for thread in threads {
                flows.push(format!(
                    "    {}",
                    thread["message"]["text"].as_str().unwrap()
                ));
                let locations = thread["locations"].as_array().unwrap();
                assert!(!locations.is_empty());
                for step in locations {
                    let kinds = step["kinds"].as_array().unwrap();
                    assert!(kinds.iter().all(|k| k == "acquire" || k == "call"));
                    let place = &step["location"]["physicalLocation"];
                    assert_eq!(place["artifactLocation"]["uriBaseId"], "%SRCROOT%");
                    flows.push(format!(
                        "      {}{} {}:{} {}",
                        "  ".repeat(step["nestingLevel"].as_u64().unwrap() as usize),
                        kinds[0].as_str().unwrap(),
                        place["artifactLocation"]["uri"].as_str().unwrap(),
                        place["region"]["startLine"],
                        step["location"]["message"]["text"].as_str().unwrap()
                    ));
                }
            }
        }
    }
    insta::assert_snapshot!(flows.join("\n"));
}
