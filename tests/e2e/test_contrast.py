"""Fields can be told from the page around them (WCAG 2.2 1.4.11: a field's border, its
only visual cue when empty, contrasts at least 3:1 with what is next to it)."""
import re


def _luminance(css_colour: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_field_of_the_registration_form_has_a_border_that_stands_out(page, live_server):
    page.goto(f"{live_server}/register")
    fields = page.eval_on_selector_all("main input:not([type=hidden])", """(inputs) => inputs.map((input) => {
        let around = input.parentElement;
        while (getComputedStyle(around).backgroundColor === "rgba(0, 0, 0, 0)") around = around.parentElement;
        return [input.name, getComputedStyle(input).borderTopColor, getComputedStyle(around).backgroundColor];
    })""")
    assert len(fields) >= 4
    for name, border, background in fields:
        assert _contrast(border, background) >= 3, (name, border, background)
