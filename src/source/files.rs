//! The offline source (`--from-files`): objects read once from YAML or JSON files.
//!
//! Accepts a file or a directory (recursive, `.yaml`/`.yml`/`.json`, in name order),
//! multi-document YAML, `kind: List` (what `kubectl get … -o yaml` prints) and single objects.
//! Kinds the dashboard does not show are skipped. Any file that cannot be parsed stops the
//! start with its path and the parser's line and reason.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::model::Object;

/// Why the files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// Reads every object of a watched kind under `path`.
pub fn load(path: &Path) -> Result<Vec<Object>, FilesError> {
    let mut files = vec![];
    collect_files(path, &mut files)?;
    let mut objects = vec![];
    for file in files {
        objects.extend(load_file(&file)?);
    }
    Ok(objects)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), FilesError> {
    let io = |source| FilesError::Io {
        path: path.to_owned(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_files(&entry, out)?;
        } else if matches!(
            entry.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(entry);
        }
    }
    Ok(())
}

/// Reads the objects of one file.
pub fn load_file(path: &Path) -> Result<Vec<Object>, FilesError> {
    let text = std::fs::read_to_string(path).map_err(|source| FilesError::Io {
        path: path.to_owned(),
        source,
    })?;
    let documents = parse_documents(path, &text)?;
    let mut objects = vec![];
    for doc in documents {
        flatten(path, doc, &mut objects)?;
    }
    Ok(objects)
}

/// Parses JSON (by extension) or multi-document YAML into JSON values.
pub fn parse_documents(path: &Path, text: &str) -> Result<Vec<Value>, FilesError> {
    if path.extension().and_then(|e| e.to_str()) == Some("json") {
        return serde_json::from_str(text)
            .map(|v| vec![v])
            .map_err(|e| FilesError::Parse {
                path: path.to_owned(),
                line: e.line(),
                reason: e.to_string(),
            });
    }
    let mut docs = vec![];
    for document in serde_norway::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|e| FilesError::Parse {
            path: path.to_owned(),
            line: e.location().map_or(0, |l| l.line()),
            reason: e.to_string(),
        })?;
        // An empty document (e.g. a trailing `---`) is not an object.
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

fn flatten(path: &Path, doc: Value, out: &mut Vec<Object>) -> Result<(), FilesError> {
    let invalid = |reason: String| FilesError::Invalid {
        path: path.to_owned(),
        reason,
    };
    if !doc.is_object() {
        return Err(invalid("expected a Kubernetes object or a List".into()));
    }
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind == "List" || kind.ends_with("List") && doc.get("items").is_some() {
        let Some(Value::Array(items)) = doc.get("items").cloned() else {
            return Err(invalid(format!("{kind} without an items array")));
        };
        for item in items {
            flatten(path, item, out)?;
        }
        return Ok(());
    }
    if let Some(object) = Object::from_json(doc).map_err(|e| invalid(e.to_string()))? {
        out.push(object);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rd-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_multi_document_lists_and_json() {
        let dir = temp_dir("multi");
        write(
            &dir,
            "a.yaml",
            "apiVersion: v1\nkind: List\nitems:\n- kind: Rollout\n  metadata: {name: r1, namespace: x}\n- kind: Service\n  metadata: {name: s}\n---\nkind: Pod\nmetadata: {name: p1, namespace: x}\n---\n",
        );
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        write(
            &dir.join("sub"),
            "b.json",
            r#"{"kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "x"}}"#,
        );
        write(&dir, "notes.txt", "not yaml: [");
        let objects = load(&dir).unwrap();
        let kinds: Vec<Kind> = objects.iter().map(Object::kind).collect();
        assert_eq!(kinds, vec![Kind::Rollout, Kind::Pod, Kind::ReplicaSet]);
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        let dir = temp_dir("bad");
        let path = write(
            &dir,
            "bad.yaml",
            "kind: Rollout\nmetadata:\n  name: [unclosed\n",
        );
        let err = load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:", path.display())), "{err}");
        assert!(
            matches!(load(&path).unwrap_err(), FilesError::Parse { line, .. } if line >= 3),
            "{err}"
        );
        let path = write(&dir, "bad.json", "{\n\"kind\": \n}");
        assert!(matches!(
            load(&path).unwrap_err(),
            FilesError::Parse { line: 3, .. }
        ));
    }

    #[test]
    fn wrong_shapes_are_reported() {
        let dir = temp_dir("shape");
        let path = write(&dir, "s.yaml", "- just\n- a list\n");
        assert!(matches!(
            load(&path).unwrap_err(),
            FilesError::Invalid { .. }
        ));
        let path = write(&dir, "p.yaml", "kind: Pod\nmetadata: {name: p}\nspec: 3\n");
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains("Pod \"p\""), "{err}");
    }
}
