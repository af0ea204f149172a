"""The listening report's parts: runs and their clips collected, pages written, blind keys and answers.
The command that writes one is :mod:`audiogan.commands.report`."""
