"""Tax ids as Polar renders them: ``[value, format]``, the format derived from the billing country.

We do not check the tax id against a registry (VIES and friends); we normalise it and name its
format so that invoices and the SDKs (whose ``TaxIDFormat`` enum this mirrors) can use it.
"""

import re

# EU member states use the shared ``eu_vat`` format (the value starts with the country prefix).
EU_COUNTRIES = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())

COUNTRY_FORMATS = {
    "AD": "ad_nrt",
    "AE": "ae_trn",
    "AR": "ar_cuit",
    "AU": "au_abn",
    "BH": "bh_vat",
    "BO": "bo_tin",
    "BR": "br_cnpj",
    "CA": "ca_bn",
    "CH": "ch_vat",
    "CL": "cl_tin",
    "CN": "cn_tin",
    "CO": "co_nit",
    "CR": "cr_tin",
    "DO": "do_rcn",
    "EC": "ec_ruc",
    "EG": "eg_tin",
    "GB": "gb_vat",
    "GE": "ge_vat",
    "HK": "hk_br",
    "ID": "id_npwp",
    "IL": "il_vat",
    "IN": "in_gst",
    "IS": "is_vat",
    "JP": "jp_cn",
    "KE": "ke_pin",
    "KR": "kr_brn",
    "KZ": "kz_bin",
    "LI": "li_uid",
    "MK": "mk_vat",
    "MU": "mu_tan",
    "MX": "mx_rfc",
    "MY": "my_sst",
    "NG": "ng_tin",
    "NO": "no_vat",
    "NZ": "nz_gst",
    "OM": "om_vat",
    "PE": "pe_ruc",
    "PH": "ph_tin",
    "RS": "rs_pib",
    "SA": "sa_vat",
    "SG": "sg_gst",
    "SV": "sv_nit",
    "TH": "th_vat",
    "TR": "tr_tin",
    "TW": "tw_vat",
    "UA": "ua_vat",
    "US": "us_ein",
    "UY": "uy_ruc",
    "VE": "ve_rif",
    "VN": "vn_tin",
    "ZA": "za_vat",
}

_ALLOWED = re.compile(r"^[A-Z0-9]{4,32}$")


class InvalidTaxID(ValueError):
    pass


def tax_id_format_for_country(country: str) -> str | None:
    if country in EU_COUNTRIES:
        return "eu_vat"
    return COUNTRY_FORMATS.get(country)


def validate_tax_id(value: str, country: str) -> list:
    """Normalise ``value`` (drop spaces, dots, dashes; upper case) and pair it with its format.

    Raises ``InvalidTaxID`` when nothing plausible is left. A country without a known format keeps
    ``None`` as format, which both SDKs accept.
    """
    normalised = re.sub(r"[\s.\-/]", "", value or "").upper()
    if not _ALLOWED.match(normalised):
        raise InvalidTaxID(value)
    tax_format = tax_id_format_for_country(country)
    if tax_format == "eu_vat":
        # Greece's VAT prefix is EL, not its ISO code.
        prefix = "EL" if country == "GR" else country
        if normalised[:2].isalpha() and normalised[:2] != prefix:
            raise InvalidTaxID(value)  # another member state's VAT number: not for this address
        if not normalised.startswith(prefix):
            normalised = prefix + normalised
    return [normalised, tax_format]
