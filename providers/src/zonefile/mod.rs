//! BIND master files: the syntax shared with mailauth's resolver, and (with the plan/publish
//! work) the zone-file backend that edits a file in place.

pub mod syntax;
