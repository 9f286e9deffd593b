"""Assessment operations: verbs on banks, quizzes, practical work and apprenticeships.

They check permissions, change models, flush and send signals; the controller,
command or job that called them commits once.
"""
