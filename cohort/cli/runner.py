"""Executes a `Command`: calls its RPC (unary, paged list or stream) and prints the result."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from cohort.cli import exitcodes
from cohort.cli.command import Command, build_request
from cohort.cli.output import dump_json, render_detail, render_list, to_dict

DEFAULT_TIMEOUT = 30.0


class Runner:
    """Calls one command's RPC on a channel and prints the result."""

    def __init__(
        self, channel: grpc.Channel, *, timeout: float | None, as_json: bool, out: TextIO
    ) -> None:
        self.channel = channel
        self.timeout = timeout
        self.as_json = as_json
        self.out = out

    def run(self, command: Command, ns: argparse.Namespace) -> int:
        request = build_request(command, ns)
        response_class = GetMessageClass(command.method.output_type)
        kwargs = {
            "request_serializer": type(request).SerializeToString,
            "response_deserializer": response_class.FromString,
        }
        if command.method.server_streaming:
            stream = self.channel.unary_stream(command.path, **kwargs)
            return self._stream(stream(request, timeout=self.timeout), ns)
        call = self.channel.unary_unary(command.path, **kwargs)
        timeout = self.timeout if self.timeout is not None else DEFAULT_TIMEOUT
        items = command.items_field
        if command.paged and items is not None:
            return self._list(command, items, lambda r: call(r, timeout=timeout), request, ns)
        response: Message = call(request, timeout=timeout)
        if command.render is not None:
            self._print(command.render(response, self.as_json))
        else:
            self._print_one(response)
        return command.check(response) if command.check else exitcodes.OK

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _print_one(self, response: Message) -> None:
        if self.as_json:
            self._print(dump_json(to_dict(response)))
        elif response.DESCRIPTOR.fields:
            self._print(render_detail(response))

    def _list(
        self,
        command: Command,
        items: str,
        call: Callable[[Message], Any],
        request: Any,
        ns: argparse.Namespace,
    ) -> int:
        one_page = ns.page_size is not None or ns.page_token is not None
        found: list[Message] = []
        while True:
            response = call(request)
            found.extend(getattr(response, items))
            token: str = response.next_page_token
            if one_page or not token:
                break
            request.page_token = token
        if self.as_json:
            data = {items: [to_dict(m) for m in found], "next_page_token": token}
            self._print(dump_json(data))
            return exitcodes.OK
        if command.columns is not None:
            self._print(render_list(found, command.columns))
        else:
            for item in found:
                self._print(render_detail(item))
        if token:
            self._print(f"next_page_token: {token}")
        return exitcodes.OK

    def _stream(self, responses: Iterator[Message], ns: argparse.Namespace) -> int:
        limit: int | None = getattr(ns, "count", None)
        seen = 0
        try:
            for response in responses:
                if self.as_json:
                    self._print(dump_json(to_dict(response), compact=True))
                else:
                    self._print(render_detail(response))
                seen += 1
                if limit is not None and seen >= limit:
                    break
        finally:
            cancel = getattr(responses, "cancel", None)
            if cancel is not None:
                cancel()
        return exitcodes.OK
