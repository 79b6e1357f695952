"""kesu.lib.phones: the phone formats of R-IN-2 and the masking of R-AX-2."""

from __future__ import annotations

import pytest

from kesu.lib.phones import InvalidPhone, mask_address, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "raw, canonical",
    [
        # Mobiles: 11 digits 1[3-9]…, separators and the country code dropped.
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("  138 1234 5678 ", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("(138)12345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width, as the IME types it
        ("13８１２３４５６７８", "13812345678"),
        ("＋８６ １３８－１２３４－５６７８", "13812345678"),
        # Landlines: area code (3 digits for 010/02x, else 4), subscriber number, extension.
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("（010）12345678", "010-12345678"),
        ("020 8765 4321", "020-87654321"),
        ("0755 1234 5678", "0755-12345678"),
        ("0755-1234-5678", "0755-12345678"),
        ("0571-8765432", "0571-8765432"),
        ("0755-12345678-8001", "0755-12345678-8001"),
        ("021-87654321转602", "021-87654321-602"),
        ("010-12345678#12", "010-12345678-12"),
        ("010-12345678 转 602", "010-12345678-602"),
        ("010-12345678 ext. 9", "010-12345678-9"),
        ("+86 10 6552 9988", "010-65529988"),
        ("+86 755 1234 5678", "0755-12345678"),
        # Other countries.
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-0132", "+14155550132"),
        ("+852 2345 6789", "+85223456789"),
    ],
)
def test_r_in_2_valid_phones_are_normalised(raw, canonical):
    assert normalize_phone(raw) == canonical


@pytest.mark.parametrize("raw", ["13812345678", "138 1234 5678", "+86 138-1234-5678", "１３８１２３４５６７８"])
def test_r_in_2_one_mobile_written_many_ways_is_one_number(raw):
    assert normalize_phone(raw) == normalize_phone("13812345678")


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", "12345", "12012345678", "11012345678", "1381234567", "138123456789",
        "abcdefghijk", "138-abcd-5678", "10086", "+86", "+123", "0000000", "010-1234",
        "13812345678转8", "phone: 13812345678", "١٣٨١٢٣٤٥٦٧٨", "138 1234 5678 / 139 8765 4321",
    ],
)
def test_r_in_2_invalid_phones_are_refused(raw):
    with pytest.raises(InvalidPhone):
        normalize_phone(raw)


@pytest.mark.parametrize(
    "phone, masked",
    [
        ("13812345678", "138****5678"),
        ("010-12345678", "010****5678"),
        ("+442079460958", "+44****0958"),
        ("", ""),
        ("1234567", "*******"),
    ],
)
def test_r_ax_2_phones_are_masked(phone, masked):
    assert mask_phone(phone) == masked


def test_r_ax_2_a_masked_mobile_hides_the_middle_four_digits():
    masked = mask_phone("13812345678")

    assert "1234" not in masked
    assert len(masked) == 11


@pytest.mark.parametrize(
    "address",
    ["北京市朝阳区建国路88号3单元502室", "上海市浦东新区世纪大道100号", "广州天河", "x"],
)
def test_r_ax_2_addresses_keep_the_region_and_hide_the_rest(address):
    masked = mask_address(address)

    assert masked.endswith("****")
    kept = masked[: -len("****")]
    assert kept and address.startswith(kept)
    assert len(kept) <= 6
    assert len(kept) < len(address) or len(address) == 1
    assert "88号" not in masked and "502" not in masked and "100号" not in masked


def test_r_ax_2_an_empty_address_stays_empty():
    assert mask_address("") == ""
