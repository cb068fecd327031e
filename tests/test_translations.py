"""Every text a person can see exists in Finnish, Swedish and English.

The source is the truth: messages are extracted in memory from the code and templates the
same way `make messages` does (babel.cfg), so a string added without running it fails
here too, and a missing, empty or fuzzy translation fails naming the msgid and language.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "idp" / "translations"
LANGUAGES = ("fi", "sv", "en")
# The Makefile's `pybabel extract -k lazy_gettext -k _l` adds these to Babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?([diouxXeEfFgGcrs%])")


@pytest.fixture(scope="module")
def source() -> Catalog:
    with open(ROOT / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    assert len(catalog) > 100, "extraction found almost nothing: is babel.cfg's method map right?"
    return catalog


def read(path: Path) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f)


def ids(catalog: Catalog) -> set:
    """Each message's msgid ((singular, plural) for ngettext), paired with its context if it has one."""
    found = set()
    for message in catalog:
        if message.id:
            msgid = message.id if isinstance(message.id, str) else tuple(message.id)
            found.add((message.context, msgid) if message.context else msgid)
    return found


def placeholders(text: str) -> list[str]:
    return sorted(f"%({name})" if name else f"%{kind}" for name, kind in PLACEHOLDER.findall(text) if kind != "%")


def test_messages_pot_is_up_to_date_with_the_source(source):
    template = ids(read(CATALOGS / "messages.pot"))
    extracted = ids(source)
    assert not extracted - template and not template - extracted, (
        "idp/translations/messages.pot is out of date; run `make messages` and translate. "
        f"New in the source: {', '.join(sorted(map(repr, extracted - template))) or 'nothing'}. "
        f"Gone from the source: {', '.join(sorted(map(repr, template - extracted))) or 'nothing'}.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(source, language):
    catalog = read(CATALOGS / language / "LC_MESSAGES" / "messages.po")
    problems = []
    for message in source:
        if not message.id:
            continue
        translated = catalog.get(message.id, context=message.context)
        name = f"[{language}] {message.id!r}"
        if translated is None:
            problems.append(f"{name}: missing (run `make messages`)")
            continue
        if translated.fuzzy:
            problems.append(f"{name}: marked fuzzy, check it and remove the flag")
        forms = translated.string if isinstance(translated.string, (list, tuple)) else (translated.string,)
        if not all(forms):
            problems.append(f"{name}: no translation")
            continue
        originals = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        expected_forms = 1 if len(originals) == 1 else catalog.num_plurals
        if len(forms) != expected_forms:
            problems.append(f"{name}: {len(forms)} forms, expected {expected_forms}")
        for index, form in enumerate(forms):
            original = originals[min(index, len(originals) - 1)]
            if placeholders(form) != placeholders(original):
                problems.append(f"{name}: placeholders {placeholders(form)} in {form!r}, "
                                f"expected {placeholders(original)}")
    assert not problems, f"{len(problems)} translation problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ("fi", "sv"))
def test_catalog_declares_its_language_and_plural_rule(language):
    catalog = read(CATALOGS / language / "LC_MESSAGES" / "messages.po")
    assert str(catalog.locale) == language
    assert catalog.num_plurals == 2 and "n != 1" in catalog.plural_expr


def test_placeholder_check_catches_a_dropped_or_renamed_placeholder():
    assert placeholders("Use at least %(count)d characters (now %(length)d).") == ["%(count)", "%(length)"]
    assert placeholders("Käytä vähintään %(count)d merkkiä.") != placeholders("Use %(count)d of %(length)d")
    assert placeholders("100 %% sure, %s") == ["%s"]
