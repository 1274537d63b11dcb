//! `schema.graphql` in the repository is the schema as served.
#[test]
fn committed_schema_matches_the_served_one() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    let served = keyward::gql::sdl();
    assert!(
        committed == served,
        "schema.graphql differs from the schema the server serves: run `make schema` and commit the result"
    );
}
