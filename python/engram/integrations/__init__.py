"""Integrations of engram with agent frameworks, one module each: `engram.integrations.langchain`
(needs `langchain-core`) and `engram.integrations.langgraph` (needs `langgraph`). Importing
`engram` or this package imports neither framework."""
