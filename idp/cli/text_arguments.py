"""Command groups whose text arguments are refused, one line naming the option, when no
row could store them.

Python reads bytes of the command line that are not UTF-8 (a terminal set to Latin-1, an
old script) as lone surrogates, which neither database can store: the command stopped
with a traceback at its first write, after its checks had passed."""
from __future__ import annotations

import click


def _problem(text: str) -> str | None:
    if any("\udc80" <= c <= "\udcff" for c in text):
        return "is not UTF-8 text: set the terminal or script to UTF-8 (e.g. LANG=fi_FI.UTF-8) and try again"
    if "\x00" in text:
        return "holds a NUL character"
    return None


class Command(click.Command):
    def parse_args(self, ctx, args):
        rest = super().parse_args(ctx, args)
        for param in self.params:
            if not isinstance(param.type, click.types.StringParamType):
                continue  # a file name may be any bytes; a choice or number is checked by its type
            value = ctx.params.get(param.name)  # a callback may have made it something else
            for text in (value,) if isinstance(value, str) else value if isinstance(value, tuple) else ():
                problem = _problem(text) if isinstance(text, str) else None
                if problem:
                    raise click.BadParameter(problem, ctx=ctx, param=param)
        return rest


class Group(click.Group):
    command_class = Command
