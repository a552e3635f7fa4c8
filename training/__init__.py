"""Full-scale training scripts (`make checkpoints`) and their provenance helpers."""
