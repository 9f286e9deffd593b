"""Assessment views, by audience: banks and imports, quizzes and attempts, practical work and
its review, gradebooks."""
