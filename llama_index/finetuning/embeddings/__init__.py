"""The finetuning engines, at the import paths of llama-index-finetuning 0.4."""
