"""Training, evaluation and prediction loops, optimisers and schedules."""
