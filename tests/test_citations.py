"""Reference list through citeproc-py and the bundled Vancouver (NLM) CSL style."""

from __future__ import annotations

import evidence
from evidence.citations import bibliography, csl_names

from .conftest import FIXTURES


def test_names():
    assert csl_names("Kharaziha, P. and Hellström, P. M. and others") == [
        {"family": "Kharaziha", "given": "P."},
        {"family": "Hellström", "given": "P. M."},
        {"literal": "et al."},
    ]
    assert csl_names("{World Health Organization}") == [{"literal": "World Health Organization"}]
    assert csl_names("Ann Lee") == [{"family": "Lee", "given": "Ann"}]


def test_vancouver_formatting():
    data = evidence.load(FIXTURES / "valid")
    ((key, text),) = bibliography(data.studies, ["alpha2010_trial"], output="text")
    assert key == "alpha2010_trial"
    assert text == (
        "Alpha A, Beta B. A randomised trial of bone-marrow MSC in decompensated cirrhosis. "
        "World Journal of Gastroenterology. 2010;16:1–8. doi:10.1000/alpha.2010 "
        "PubMed PMID: 11111111."
    )
