"""ML steps of a policy: trained classifiers, Hugging Face models, zero-shot labels."""
