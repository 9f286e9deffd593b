"""The assessment domain's models: question banks and quizzes, practical tasks and reviews."""

from lms.assessment.models.practical import (
    EVIDENCE_KINDS,
    SUBMISSION_STATE_LABELS,
    Evidence,
    Pairing,
    PracticalStage,
    PracticalTask,
    Review,
    ReviewDecision,
    RubricCriterion,
    RubricLevel,
    Submission,
    SubmissionState,
)
from lms.assessment.models.quizzes import (
    GRADING_LABELS,
    REVIEW_LABELS,
    SELECTION_LABELS,
    Attempt,
    AttemptSlot,
    AttemptState,
    GradingMethod,
    Question,
    QuestionCategory,
    QuestionOption,
    Quiz,
    QuizQuestion,
    ReviewPolicy,
    Selection,
    quiz_categories,
    text_in,
)

__all__ = [
    "EVIDENCE_KINDS", "GRADING_LABELS", "REVIEW_LABELS", "SELECTION_LABELS",
    "SUBMISSION_STATE_LABELS", "Attempt", "AttemptSlot", "AttemptState", "Evidence",
    "GradingMethod", "Pairing", "PracticalStage", "PracticalTask", "Question",
    "QuestionCategory", "QuestionOption", "Quiz", "QuizQuestion", "Review", "ReviewDecision",
    "ReviewPolicy", "RubricCriterion", "RubricLevel", "Selection", "Submission",
    "SubmissionState", "quiz_categories", "text_in",
]
