"""The run's way to models: a gateway that containers and the engine call instead of a provider.

One concept per module: `gateway` serves and meters the calls, `server` keeps a container from
exhausting it, `provider` makes one call through litellm, `retry` decides when to call again,
`budget` prices calls and holds the run's and each task's dollar caps, `throttle` shares the
provider's rate limits among callers, `health` notices a provider that keeps failing, `caching`
marks prompts for providers that cache only when asked, `call_log` is `llm_calls.jsonl`.
"""
