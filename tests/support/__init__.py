"""What the tests share: the local OpenAI-compatible server (the one outside party) and the
shapes its answers take, a hub server, the command line as a user runs it, small datasets.

Example::

    from support.openai_server import FakeOpenAIServer
    from support.cli_proc import cli, in_process
"""
