"""Build contacts/member_states.csv: the ITU's 194 Member States.

The ITU has 194 Member States: the 193 member states of the United Nations plus the
Holy See (Vatican City State, ISO 3166-1 ``VA``). For each one this script writes:

* ISO 3166-1 alpha-2, alpha-3 and numeric codes and the English official name, from
  pycountry (the ISO 3166 data shipped with it);
* the short name in the six UN languages (en, fr, es, ru, ar, zh), from the Unicode
  CLDR data shipped with Babel;
* the UN M49 region, sub-region and intermediate region, hard-coded below from the
  UN Statistics Division's "Standard country or area codes for statistical use (M49)";
* ``itu_region``, always left empty: the ITU administrative regions (A-E) may only be
  filled in by hand from a named ITU document, never derived from geography.

Run from the repository root::

    python contacts/build_member_states.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import pycountry
from babel import Locale

OUTPUT = Path(__file__).resolve().parent / "member_states.csv"
LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
COLUMNS = (
    "iso2",
    "iso3",
    "numeric",
    *(f"name_{language}" for language in LANGUAGES),
    "official_name_en",
    "m49_region",
    "m49_subregion",
    "m49_intermediate_region",
    "itu_region",
)
EXPECTED_COUNT = 194

# M49 groupings used below: (region, sub-region, intermediate region or "").
AF_N = ("Africa", "Northern Africa", "")
AF_E = ("Africa", "Sub-Saharan Africa", "Eastern Africa")
AF_M = ("Africa", "Sub-Saharan Africa", "Middle Africa")
AF_S = ("Africa", "Sub-Saharan Africa", "Southern Africa")
AF_W = ("Africa", "Sub-Saharan Africa", "Western Africa")
AM_C = ("Americas", "Latin America and the Caribbean", "Caribbean")
AM_CA = ("Americas", "Latin America and the Caribbean", "Central America")
AM_S = ("Americas", "Latin America and the Caribbean", "South America")
AM_N = ("Americas", "Northern America", "")
AS_C = ("Asia", "Central Asia", "")
AS_E = ("Asia", "Eastern Asia", "")
AS_SE = ("Asia", "South-eastern Asia", "")
AS_S = ("Asia", "Southern Asia", "")
AS_W = ("Asia", "Western Asia", "")
EU_E = ("Europe", "Eastern Europe", "")
EU_N = ("Europe", "Northern Europe", "")
EU_S = ("Europe", "Southern Europe", "")
EU_W = ("Europe", "Western Europe", "")
OC_AN = ("Oceania", "Australia and New Zealand", "")
OC_ME = ("Oceania", "Melanesia", "")
OC_MI = ("Oceania", "Micronesia", "")
OC_PO = ("Oceania", "Polynesia", "")

# The ITU's Member States (193 UN members + VA) and their UN M49 grouping.
MEMBER_STATES: dict[str, tuple[str, str, str]] = {
    # Africa: Northern Africa (6)
    "DZ": AF_N, "EG": AF_N, "LY": AF_N, "MA": AF_N, "SD": AF_N, "TN": AF_N,
    # Africa: Sub-Saharan Africa / Eastern Africa (18)
    "BI": AF_E, "DJ": AF_E, "ER": AF_E, "ET": AF_E, "KE": AF_E, "KM": AF_E,
    "MG": AF_E, "MU": AF_E, "MW": AF_E, "MZ": AF_E, "RW": AF_E, "SC": AF_E,
    "SO": AF_E, "SS": AF_E, "TZ": AF_E, "UG": AF_E, "ZM": AF_E, "ZW": AF_E,
    # Africa: Sub-Saharan Africa / Middle Africa (9)
    "AO": AF_M, "CD": AF_M, "CF": AF_M, "CG": AF_M, "CM": AF_M, "GA": AF_M,
    "GQ": AF_M, "ST": AF_M, "TD": AF_M,
    # Africa: Sub-Saharan Africa / Southern Africa (5)
    "BW": AF_S, "LS": AF_S, "NA": AF_S, "SZ": AF_S, "ZA": AF_S,
    # Africa: Sub-Saharan Africa / Western Africa (16)
    "BF": AF_W, "BJ": AF_W, "CI": AF_W, "CV": AF_W, "GH": AF_W, "GM": AF_W,
    "GN": AF_W, "GW": AF_W, "LR": AF_W, "ML": AF_W, "MR": AF_W, "NE": AF_W,
    "NG": AF_W, "SL": AF_W, "SN": AF_W, "TG": AF_W,
    # Americas: Latin America and the Caribbean / Caribbean (13)
    "AG": AM_C, "BB": AM_C, "BS": AM_C, "CU": AM_C, "DM": AM_C, "DO": AM_C,
    "GD": AM_C, "HT": AM_C, "JM": AM_C, "KN": AM_C, "LC": AM_C, "TT": AM_C,
    "VC": AM_C,
    # Americas: Latin America and the Caribbean / Central America (8)
    "BZ": AM_CA, "CR": AM_CA, "GT": AM_CA, "HN": AM_CA, "MX": AM_CA, "NI": AM_CA,
    "PA": AM_CA, "SV": AM_CA,
    # Americas: Latin America and the Caribbean / South America (12)
    "AR": AM_S, "BO": AM_S, "BR": AM_S, "CL": AM_S, "CO": AM_S, "EC": AM_S,
    "GY": AM_S, "PE": AM_S, "PY": AM_S, "SR": AM_S, "UY": AM_S, "VE": AM_S,
    # Americas: Northern America (2)
    "CA": AM_N, "US": AM_N,
    # Asia: Central Asia (5)
    "KG": AS_C, "KZ": AS_C, "TJ": AS_C, "TM": AS_C, "UZ": AS_C,
    # Asia: Eastern Asia (5)
    "CN": AS_E, "JP": AS_E, "KP": AS_E, "KR": AS_E, "MN": AS_E,
    # Asia: South-eastern Asia (11)
    "BN": AS_SE, "ID": AS_SE, "KH": AS_SE, "LA": AS_SE, "MM": AS_SE, "MY": AS_SE,
    "PH": AS_SE, "SG": AS_SE, "TH": AS_SE, "TL": AS_SE, "VN": AS_SE,
    # Asia: Southern Asia (9)
    "AF": AS_S, "BD": AS_S, "BT": AS_S, "IN": AS_S, "IR": AS_S, "LK": AS_S,
    "MV": AS_S, "NP": AS_S, "PK": AS_S,
    # Asia: Western Asia (17)
    "AE": AS_W, "AM": AS_W, "AZ": AS_W, "BH": AS_W, "CY": AS_W, "GE": AS_W,
    "IL": AS_W, "IQ": AS_W, "JO": AS_W, "KW": AS_W, "LB": AS_W, "OM": AS_W,
    "QA": AS_W, "SA": AS_W, "SY": AS_W, "TR": AS_W, "YE": AS_W,
    # Europe: Eastern Europe (10)
    "BG": EU_E, "BY": EU_E, "CZ": EU_E, "HU": EU_E, "MD": EU_E, "PL": EU_E,
    "RO": EU_E, "RU": EU_E, "SK": EU_E, "UA": EU_E,
    # Europe: Northern Europe (10)
    "DK": EU_N, "EE": EU_N, "FI": EU_N, "GB": EU_N, "IE": EU_N, "IS": EU_N,
    "LT": EU_N, "LV": EU_N, "NO": EU_N, "SE": EU_N,
    # Europe: Southern Europe (15, including the Holy See)
    "AD": EU_S, "AL": EU_S, "BA": EU_S, "ES": EU_S, "GR": EU_S, "HR": EU_S,
    "IT": EU_S, "ME": EU_S, "MK": EU_S, "MT": EU_S, "PT": EU_S, "RS": EU_S,
    "SI": EU_S, "SM": EU_S, "VA": EU_S,
    # Europe: Western Europe (9)
    "AT": EU_W, "BE": EU_W, "CH": EU_W, "DE": EU_W, "FR": EU_W, "LI": EU_W,
    "LU": EU_W, "MC": EU_W, "NL": EU_W,
    # Oceania: Australia and New Zealand (2)
    "AU": OC_AN, "NZ": OC_AN,
    # Oceania: Melanesia (4)
    "FJ": OC_ME, "PG": OC_ME, "SB": OC_ME, "VU": OC_ME,
    # Oceania: Micronesia (5)
    "FM": OC_MI, "KI": OC_MI, "MH": OC_MI, "NR": OC_MI, "PW": OC_MI,
    # Oceania: Polynesia (3)
    "TO": OC_PO, "TV": OC_PO, "WS": OC_PO,
}  # fmt: skip


# CLDR's English names are made for menus ("Congo - Kinshasa", "St. Lucia"); a letter to a
# government wants the short names the UN and the ITU use in their own documents.
ENGLISH_NAMES = {
    "AG": "Antigua and Barbuda",
    "BA": "Bosnia and Herzegovina",
    "CD": "Democratic Republic of the Congo",
    "CG": "Congo",
    "CV": "Cabo Verde",
    "KN": "Saint Kitts and Nevis",
    "KP": "Democratic People's Republic of Korea",
    "KR": "Republic of Korea",
    "LC": "Saint Lucia",
    "MM": "Myanmar",
    "ST": "Sao Tome and Principe",
    "TT": "Trinidad and Tobago",
    "VA": "Vatican",
    "VC": "Saint Vincent and the Grenadines",
}
# pycountry gives some official names in index order ("Korea, Republic of") or lower case.
OFFICIAL_NAMES = {
    "CD": "Democratic Republic of the Congo",
    "ER": "State of Eritrea",
    "KR": "Republic of Korea",
}


def build_rows() -> list[dict[str, str]]:
    """One row per member state, sorted by alpha-2 code."""
    locales = {language: Locale(language) for language in LANGUAGES}
    rows = []
    for iso2, (region, subregion, intermediate) in sorted(MEMBER_STATES.items()):
        country = pycountry.countries.get(alpha_2=iso2)
        assert country is not None, f"{iso2} is not an ISO 3166-1 code known to pycountry"
        row = {
            "iso2": iso2,
            "iso3": country.alpha_3,
            "numeric": country.numeric,
            "official_name_en": OFFICIAL_NAMES.get(
                iso2, getattr(country, "official_name", country.name)
            ),
            "m49_region": region,
            "m49_subregion": subregion,
            "m49_intermediate_region": intermediate,
            "itu_region": "",
        }
        for language, locale in locales.items():
            name = locale.territories.get(iso2)
            assert name, f"CLDR has no {language} name for {iso2}"
            row[f"name_{language}"] = name
        row["name_en"] = ENGLISH_NAMES.get(iso2, row["name_en"])
        rows.append({column: row[column] for column in COLUMNS})
    return rows


def check(rows: list[dict[str, str]]) -> None:
    """Fail loudly unless there are exactly 194 distinct member states."""
    assert len(rows) == EXPECTED_COUNT, f"expected {EXPECTED_COUNT} rows, got {len(rows)}"
    for column in ("iso2", "iso3", "numeric"):
        values = [row[column] for row in rows]
        assert len(set(values)) == len(values), f"duplicate {column} values"
    assert all(row["itu_region"] == "" for row in rows), "itu_region must stay empty"


def write(rows: list[dict[str, str]], path: Path = OUTPUT) -> None:
    """Write the rows as UTF-8 CSV (no BOM) with a header row."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=COLUMNS, quoting=csv.QUOTE_MINIMAL, lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Build, check and write member_states.csv."""
    rows = build_rows()
    check(rows)
    write(rows)
    print(f"wrote {len(rows)} member states to {OUTPUT}")


if __name__ == "__main__":
    main()
