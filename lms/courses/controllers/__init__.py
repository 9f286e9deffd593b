"""Course views, split by who uses them: the public catalogue, learners, authors."""
