"""kesu.lib.text: cleaning pasted text (R-IN-2), search tokens and repeat similarity (R-IN-7)."""

from __future__ import annotations

import pytest

from kesu.lib.text import clean_text, index_text, similarity, tokens


# --- clean_text ------------------------------------------------------------------------------


def test_r_in_2_clean_text_strips_html_a_paste_carries():
    assert clean_text("<p>电饭煲<b>不加热</b></p><br/>") == "电饭煲不加热"
    assert clean_text('<span style="color:red">漏水</span>') == "漏水"


def test_r_in_2_clean_text_unescapes_entities():
    assert clean_text("A&amp;B 门店 &quot;旗舰店&quot;") == 'A&B 门店 "旗舰店"'


def test_r_in_2_clean_text_normalises_full_width_letters_and_digits():
    assert clean_text("ＡＢＣ１２３") == "ABC123"
    assert clean_text("型号ＲＣ－３０００，订单ＤＤ２０２６") == "型号RC-3000，订单DD2026"
    assert clean_text("ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "zhang@example.com"


def test_r_in_2_clean_text_keeps_chinese_punctuation_and_symbols():
    text = "客户说：“再不解决就投诉到12315！”问题：①不加热；②有异味？（已拍照）"

    assert clean_text(text) == text


def test_r_in_2_clean_text_trims_and_unifies_line_ends():
    assert clean_text("  第一行\r\n第二行\n  ") == "第一行\n第二行"


@pytest.mark.parametrize("value", ["", None, "   ", "<p></p>", "<br>"])
def test_r_in_2_clean_text_of_nothing_is_empty(value):
    assert clean_text(value) == ""


# --- tokens (search) -------------------------------------------------------------------------


def test_tokens_are_cjk_bigrams():
    assert tokens("水管漏水") == ["水管", "管漏", "漏水"]


def test_tokens_keep_latin_and_digit_words_lower_cased():
    assert tokens("订单DD20261101001，型号RC-3000") == ["订单", "dd20261101001", "型号", "rc", "3000"]


def test_tokens_keep_a_lone_cjk_character():
    assert tokens("张 先生") == ["张", "先生"]


def test_tokens_normalise_full_width():
    assert tokens("ＤＤ２０２６") == tokens("dd2026") == ["dd2026"]


def test_tokens_ignore_punctuation_and_empty_text():
    assert tokens("，。！？ ... ") == []
    assert tokens("") == tokens(None) == []


def test_index_text_deduplicates_in_order():
    assert index_text("漏水漏水", "漏水 DD1") == "漏水 水漏 dd1"


# --- similarity (repeat detection) -----------------------------------------------------------


def test_r_in_7_same_text_is_fully_similar():
    assert similarity("卫生间水管漏水", "卫生间水管漏水") == 1.0


def test_r_in_7_the_same_matter_retold_is_similar():
    assert similarity("卫生间水管漏水，楼下天花板被泡", "卫生间水管又漏水了，楼下天花板被泡坏") >= 0.5


def test_r_in_7_a_different_matter_is_not_similar():
    assert similarity("卫生间水管漏水", "收银员多收了五元钱") < 0.2


def test_r_in_7_similarity_is_symmetric_and_bounded():
    a, b = "电饭煲不加热", "电饭煲加热很慢"
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 < similarity(a, b) < 1.0


def test_r_in_7_empty_text_is_similar_to_nothing():
    assert similarity("", "漏水") == similarity("漏水", "") == similarity("", "") == 0.0
