"""One module per LLM backend: llama.cpp's server run on this machine (the embedded
default), any OpenAI-compatible endpoint (vLLM, hosted APIs), and transformers in-process.
`agents.models.make_chat_model` picks one by name."""
