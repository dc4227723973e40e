//! A table of strings from an export (CSV with a header row, NDJSON, or Parquet), what
//! `syncproof dupes` reads, built on the profiler's streaming reader (shape stage, to the left). Every value is kept as text (numbers and timestamps as they print);
//! an empty cell or a JSON null is `None`. Errors name the file and the line or column.

use std::path::Path;

use super::{FieldMap, MappingError, Person, Roles};
use crate::shape::profile::{ExportError, stream_export};

/// Column names and rows of text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Reads an export by its extension, with the profiler's streaming reader
/// ([`crate::shape::profile::stream_export`]: sniffed CSV delimiter, BOM, Latin-1 fallback), but
/// strictly: a row with the wrong number of cells is an error naming its line, and an empty
/// string is absent (`None`), as an empty CSV cell is.
pub fn read_table(path: &Path) -> Result<Table, ExportError> {
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let summary = match stream_export(path, &mut |_: &[String], cells: &[Option<String>]| {
        rows.push(
            cells
                .iter()
                .map(|c| c.clone().filter(|v| !v.is_empty()))
                .collect(),
        );
    }) {
        Ok(summary) => summary,
        // An export with a header and no rows has no duplicates: an empty table, not an error.
        Err(ExportError::NoRecords { columns, .. }) => return Ok(Table { columns, rows }),
        Err(e) => return Err(e),
    };
    if let Some(line) = summary.warnings.first_ragged_lines.first() {
        return Err(ExportError::Line {
            path: path.to_path_buf(),
            line: *line,
            message: "this row has a different number of cells than the header (every row needs as many cells as the header)".into(),
        });
    }
    let width = summary.columns.len();
    for row in &mut rows {
        row.resize(width, None);
    }
    Ok(Table {
        columns: summary.columns,
        rows,
    })
}

/// The identifying fields of an export's records, normalised as they stream in: what
/// `syncproof dupes` keeps in memory instead of the whole table (a `Person` and an id a row).
#[derive(Debug, Clone, Default)]
pub struct PeopleTable {
    pub columns: Vec<String>,
    pub roles: Roles,
    /// The `id` column's value of each row (`None` when that column is absent or empty).
    pub ids: Vec<Option<String>>,
    pub people: Vec<Person>,
}

/// The roles of these columns: the explicit mapping when there is one (a column it names and
/// the export lacks is left out, and reported once the whole export is read), else guessed.
fn roles_of(columns: &[String], fields: &FieldMap) -> Roles {
    if fields.is_empty() {
        return Roles::guess(columns);
    }
    let present = FieldMap(
        fields
            .0
            .iter()
            .filter(|(c, _)| columns.contains(c))
            .cloned()
            .collect(),
    );
    present.resolve(columns).unwrap_or_default()
}

/// Reads an export as [`read_table`] does (same formats, same strictness) but keeps only the
/// `id` column and the normalised identifying fields of each row. With an explicit `fields`
/// mapping, a column it names that the export does not have is an error naming the columns.
pub fn read_people(path: &Path, id: &str, fields: &FieldMap) -> Result<PeopleTable, ExportError> {
    let mut table = PeopleTable::default();
    let mut id_col = None;
    let mut width = 0;
    let result = stream_export(path, &mut |columns: &[String], cells: &[Option<String>]| {
        // NDJSON may name new keys as it goes: the roles follow the columns seen so far.
        if columns.len() != width {
            table.columns = columns.to_vec();
            table.roles = roles_of(columns, fields);
            id_col = columns.iter().position(|c| c == id);
            width = columns.len();
        }
        let cell = |i: usize| {
            cells
                .get(i)
                .and_then(|c| c.as_deref())
                .filter(|v| !v.is_empty())
        };
        table.ids.push(id_col.and_then(cell).map(str::to_string));
        let row: Vec<Option<&str>> = (0..width).map(cell).collect();
        table.people.push(Person::from_row(&row, &table.roles));
    });
    let summary = match result {
        Ok(summary) => summary,
        Err(ExportError::NoRecords { columns, .. }) => {
            check_mapping(path, &columns, fields)?;
            return Ok(PeopleTable {
                roles: roles_of(&columns, fields),
                columns,
                ..PeopleTable::default()
            });
        }
        Err(e) => return Err(e),
    };
    check_mapping(path, &summary.columns, fields)?;
    if let Some(line) = summary.warnings.first_ragged_lines.first() {
        return Err(ExportError::Line {
            path: path.to_path_buf(),
            line: *line,
            message: "this row has a different number of cells than the header (every row needs as many cells as the header)".into(),
        });
    }
    table.columns = summary.columns;
    Ok(table)
}

/// An explicit mapping must fit the export's columns.
fn check_mapping(path: &Path, columns: &[String], fields: &FieldMap) -> Result<(), ExportError> {
    if fields.is_empty() {
        return Ok(());
    }
    let message = match fields.resolve(columns) {
        Ok(_) => return Ok(()),
        Err(MappingError::Missing(missing)) => format!(
            "no column {} for --field (columns: {}); map only columns the export has",
            missing
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", "),
            columns.join(", ")
        ),
        Err(MappingError::Twice(role)) => {
            format!("role {role} is given to two columns; only address may span several columns")
        }
    };
    Err(ExportError::Refused {
        path: path.to_path_buf(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_ndjson_read_to_the_same_table() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("x.csv");
        std::fs::write(&csv, "id,name,email\n1,\"Doe, Jane\",j@a.com\n2,Bo,\n").unwrap();
        let nd = dir.path().join("x.ndjson");
        std::fs::write(
            &nd,
            "{\"id\":\"1\",\"name\":\"Doe, Jane\",\"email\":\"j@a.com\"}\n\n{\"id\":\"2\",\"name\":\"Bo\",\"email\":null}\n",
        )
        .unwrap();
        let a = read_table(&csv).unwrap();
        let b = read_table(&nd).unwrap();
        assert_eq!(a.rows.len(), b.rows.len());
        for (i, name) in a.columns.iter().enumerate() {
            let j = b.column(name).unwrap();
            let column =
                |t: &Table, k: usize| t.rows.iter().map(|r| r[k].clone()).collect::<Vec<_>>();
            assert_eq!(column(&a, i), column(&b, j), "{name}");
        }
        assert_eq!(a.rows[1], vec![Some("2".into()), Some("Bo".into()), None]);
    }

    #[test]
    fn people_keep_the_id_and_the_normalised_fields_of_each_row() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("x.csv");
        std::fs::write(
            &csv,
            "id,first_name,last_name,email,notes\n1,Jane,Doe,Jane.Doe@acme.com,x\n,Bo,Li,,\n",
        )
        .unwrap();
        let t = read_people(&csv, "id", &FieldMap::default()).unwrap();
        assert_eq!(t.ids, vec![Some("1".into()), None]);
        let full = read_table(&csv).unwrap();
        let expected: Vec<Person> = full
            .rows
            .iter()
            .map(|r| Person::from_row(r, &t.roles))
            .collect();
        assert_eq!(t.people, expected);
        assert_eq!(t.people[0].email_local, "janedoe");
        assert_eq!(t.columns.len(), 5);
        std::fs::write(&csv, "id,name\n1,a\n2\n").unwrap();
        let err = read_people(&csv, "id", &FieldMap::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.csv: line 3"), "{err}");
        std::fs::write(&csv, "id,given,dob\n1,Ann,1956-01-24\n").unwrap();
        let map = FieldMap(vec![
            ("given".into(), super::super::Role::FirstName),
            ("dob".into(), super::super::Role::BirthDate),
        ]);
        let t = read_people(&csv, "id", &map).unwrap();
        assert_eq!(t.people[0].first, "ann");
        assert_eq!(t.people[0].extra.as_ref().unwrap().birth_date, "19560124");
        let mut wrong = map.clone();
        wrong
            .0
            .push(("birth".into(), super::super::Role::BirthDate));
        let err = read_people(&csv, "id", &wrong).unwrap_err().to_string();
        assert!(
            err.contains("x.csv: no column \"birth\" for --field (columns: id, given, dob)"),
            "{err}"
        );
    }

    #[test]
    fn bad_input_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let nd = dir.path().join("x.ndjson");
        std::fs::write(&nd, "{\"id\":1}\n[1,2]\n").unwrap();
        let err = read_table(&nd).unwrap_err().to_string();
        assert!(
            err.contains("x.ndjson: line 2: expected one JSON object"),
            "{err}"
        );
        let csv = dir.path().join("y.csv");
        std::fs::write(&csv, "a,b\n1,2\n3\n").unwrap();
        let err = read_table(&csv).unwrap_err().to_string();
        assert!(err.contains("y.csv: line 3"), "{err}");
        let err = read_table(&dir.path().join("z.xlsx"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown export format"), "{err}");
    }
}
