"""A LangChain chat agent with engram memory, on DeepSeek or any OpenAI-compatible endpoint.

    cp .env.example .env        # and set DEEPSEEK_API_KEY
    .venv/bin/python examples/langchain_deepseek.py                       # chat; an empty line ends
    .venv/bin/python examples/langchain_deepseek.py --session s1 --say "My favourite city is Lisbon."
    .venv/bin/python examples/langchain_deepseek.py --session s2 --say "Which city do I like best?"
    .venv/bin/python examples/langchain_deepseek.py --say "I moved to Berlin." --extract   # facts too

Each turn reads the session's recent messages (`EngramChatMessageHistory`), puts engram's memory
packet in a system message (`EngramContextInjector`: facts, and what earlier sessions said that
matches the question), asks the model, and writes the question and the answer back in one
transaction. Memory lives in an engram SQLite file, so a new session (or a new process) remembers
what earlier ones were told. With `--extract`, the model then reads the new turns for facts about
the user (`Memory.extract_facts` with `engram.extraction.ChatModelExtractor`, JSON mode).

Settings come from the environment, else from `.env` in the working directory or the repository
root: `DEEPSEEK_API_KEY` (required), `DEEPSEEK_BASE_URL` (default https://api.deepseek.com),
`DEEPSEEK_MODEL` (default deepseek-chat), `ENGRAM_DB` (default data/langchain-deepseek.db).
The model client is a few lines of urllib (`OpenAICompatibleChat`); needs `langchain-core`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ChatMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from engram import Memory
from engram.extraction import ChatModelExtractor
from engram.types import Scope
from engram.integrations.langchain import EngramChatMessageHistory, EngramContextInjector, content_text

PERSONA = "You are a concise, friendly travel assistant. Use what you remember about the user."


def read_settings(names: List[str]) -> Dict[str, str]:
    """The named settings: from the environment, else from the first `.env` found (working
    directory, then the repository root). Lines are `NAME=value`; `#` starts a comment line."""
    from_file: Dict[str, str] = {}
    for candidate in (Path.cwd() / ".env", Path(__file__).resolve().parents[1] / ".env"):
        if candidate.is_file():
            for line in candidate.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if not line or line.startswith("#") or "=" not in line:
                    continue
                name, value = line.removeprefix("export ").split("=", 1)
                from_file[name.strip()] = value.strip().strip("'\"")
            break
    return {name: os.environ.get(name) or from_file.get(name, "") for name in names}


class OpenAICompatibleChat(BaseChatModel):
    """A chat model behind an OpenAI-compatible `POST {base_url}/chat/completions`."""

    base_url: str
    api_key: str
    model: str
    timeout: float = 60.0

    @property
    def _llm_type(self) -> str:
        return "openai-compatible"

    @staticmethod
    def _wire(message: BaseMessage) -> Dict[str, Any]:
        if isinstance(message, ChatMessage):
            return {"role": message.role, "content": content_text(message.content)}
        if isinstance(message, ToolMessage):
            return {"role": "tool", "content": content_text(message.content), "tool_call_id": message.tool_call_id}
        role = {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")
        return {"role": role, "content": content_text(message.content)}

    def _generate(self, messages: List[BaseMessage], stop: Optional[List[str]] = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        body: Dict[str, Any] = {"model": self.model, "messages": [self._wire(message) for message in messages]}
        if stop:
            body["stop"] = stop
        request = urllib.request.Request(
            f"{self.base_url.rstrip('/')}/chat/completions",
            data=json.dumps(body).encode("utf-8"),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            completion = json.load(response)
        choice = completion["choices"][0]["message"]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(
            content=choice.get("content") or "",
            response_metadata={"model_name": completion.get("model", self.model)},
        ))])


def typed_turns() -> Iterator[str]:
    """Lines typed at the prompt, until an empty line or the end of input."""
    while True:
        try:
            text = input("you: ").strip()
        except EOFError:
            return
        if not text:
            return
        yield text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user", default="me", help="whose memory (default: me)")
    parser.add_argument("--session", default=None, help="conversation id (default: a new one)")
    parser.add_argument("--say", action="append", default=None, help="a turn to send instead of chatting (repeatable)")
    parser.add_argument("--extract", action="store_true", help="then ask the model for facts in the new turns and keep them")
    args = parser.parse_args()

    settings = read_settings(["DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", "DEEPSEEK_MODEL", "ENGRAM_DB"])
    if not settings["DEEPSEEK_API_KEY"]:
        print("set DEEPSEEK_API_KEY in the environment or in .env (see .env.example)", file=sys.stderr)
        return 2
    model = OpenAICompatibleChat(
        base_url=settings["DEEPSEEK_BASE_URL"] or "https://api.deepseek.com",
        api_key=settings["DEEPSEEK_API_KEY"],
        model=settings["DEEPSEEK_MODEL"] or "deepseek-chat",
    )
    session = args.session or time.strftime("session-%Y%m%d-%H%M%S")
    scope: Scope = {"tenant_id": "default", "user_id": args.user, "agent_id": "travel-assistant",
                    "session_id": session, "run_id": session}

    with Memory(path=settings["ENGRAM_DB"] or "data/langchain-deepseek.db") as memory:
        history = EngramChatMessageHistory(memory, scope, window=40)
        # The history already carries this session's conversation: the packet adds the rest.
        chain = EngramContextInjector(memory, scope, policy={"conversation_window": 0},
                                      budget={"max_tokens": 1200}) | model
        for text in args.say if args.say is not None else typed_turns():
            question = HumanMessage(content=text)
            reply = chain.invoke([SystemMessage(content=PERSONA), *history.messages, question])
            history.add_messages([question, reply])
            if args.say is not None:
                print(f"you: {text}")
            print(f"assistant: {content_text(reply.content)}")
        if args.extract:
            # The same model reads the new turns and returns facts in JSON; engram writes them as
            # upserts citing those turns (a changed value supersedes the old one) and does not
            # send the same turns again.
            extractor = ChatModelExtractor(model.base_url, model.api_key, model.model,
                                           known_keys=sorted({fact["fact_key"] for fact in memory.list_facts(scope)}))
            extraction = memory.extract_facts(scope, extractor)
            for write in extraction["facts"]:
                fact = write["fact"]
                print(f"remembered ({write['outcome']}): {fact['fact_key']} = {json.dumps(fact['value'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
