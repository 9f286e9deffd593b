"""Views of the record, split by audience: learners, the public, administrators, exports."""
