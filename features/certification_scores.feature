Feature: Third-party evaluation (贯标有效性评价) of certification-award cases
  烟政字〔2020〕47号 二(二)4: awards are merit-based (择优奖励), ranked by a mandatory third-party
  evaluation of IP quality before and after certification. Each case is assigned 3 evaluators
  (an illustrative parameter) from different organisations, never one who declared a conflict of
  interest with the applicant nor one belonging to it. Evaluators upload a score sheet (CSV or XLSX,
  one line per case and criterion, scores 0–100 with one decimal). A sheet is taken whole or not at
  all: every problem is reported with its line number and nothing is written. A corrected sheet
  replaces the evaluator's scores; the replaced ones stay in the history.

  Background:
    Given the sample 2021 budget plan is loaded and the round is staffed
    And the registered applicants
      | name                   | kind       | sme   |
      | 烟台海拓机械有限公司   | enterprise | true  |
      | 烟台万华新材料有限公司 | enterprise | false |
      | 烟台大学               | university | false |

  Scenario: Each case is assigned three evaluators from three different organisations
    Given the cases of 烟台海拓机械有限公司, 烟台万华新材料有限公司 and 烟台大学 have been approved in formal review
    When the advance run assigns the evaluators
    Then each case has 3 evaluators from 3 different organisations

  Scenario: An evaluator who declared a conflict of interest is never assigned the applicant's case
    Given the cases of 烟台海拓机械有限公司 and 烟台万华新材料有限公司 have been approved in formal review
    And "eval1" has declared a conflict of interest with 烟台海拓机械有限公司, "曾为该企业提供贯标咨询服务"
    When the advance run assigns the evaluators
    Then the case of 烟台海拓机械有限公司 has 3 evaluators, none of them "eval1"
    And the case of 烟台万华新材料有限公司 has "eval1" among its evaluators

  Scenario: An evaluator belonging to the applicant is never assigned its case
    Given the evaluator "ytu.eval" belongs to 烟台大学
    And the cases of 烟台大学 and 烟台海拓机械有限公司 have been approved in formal review
    When the advance run assigns the evaluators
    Then the case of 烟台大学 has 3 evaluators, none of them "ytu.eval"
    And the case of 烟台海拓机械有限公司 has "ytu.eval" among its evaluators

  Scenario Outline: A score sheet with one bad line is refused whole, naming the line, and nothing is written
    Given the cases of 烟台海拓机械有限公司 and 烟台万华新材料有限公司 are in the third-party evaluation
    And "eval3" has filled in its score sheet with 80.0 on every criterion
    And the sheet is changed: <change>
    When "eval3" uploads the score sheet
    Then the upload is refused naming "<message>"
    And nothing is written to the database

    Examples:
      | problem               | change                                                      | message                                                           |
      | unknown application   | a line for CA-2021-09999 is added                           | line 6: application 'CA-2021-09999' does not exist                |
      | not assigned          | a line for the case of 烟台万华新材料有限公司 is added      | line 6: application CA-2021-00002 is not assigned to eval3        |
      | unknown criterion     | a line for the criterion patent_count is added              | line 6: criterion 'patent_count' is not in the rubric             |
      | missing criterion     | the ip_utilisation line is deleted                          | line 2: application CA-2021-00001 lacks criterion ip_utilisation  |
      | score above 100       | line 3 has the score 100.5                                  | line 3: score 100.5 is outside 0–100                              |
      | two decimals          | line 3 has the score 85.55                                  | line 3: score 85.55 has more than one decimal                     |
      | duplicate line        | line 2 is repeated at the end                               | line 6: duplicate of line 2 (same application_id and criterion)   |
      | empty score           | line 3 has an empty score                                   | line 3: score is empty                                            |
      | formula in a comment  | line 3 has the comment =HYPERLINK("http://x.example","详情") | line 3: comment starts with "=" — cells beginning with = + - @ are refused |

  Scenario: A dry run validates the sheet and writes nothing
    Given the cases of 烟台海拓机械有限公司 and 烟台万华新材料有限公司 are in the third-party evaluation
    And "eval3" has filled in its score sheet with 80.0 on every criterion
    When "eval3" uploads the score sheet as a dry run
    Then the upload reports "valid: 4 rows; 1 case(s) would change (dry run)"
    And nothing is written to the database

  Scenario: Uploading an identical sheet again changes nothing
    Given the cases of 烟台海拓机械有限公司 and 烟台万华新材料有限公司 are in the third-party evaluation
    And "eval3" has filled in its score sheet with 80.0 on every criterion
    And "eval3" has uploaded the score sheet
    When "eval3" uploads the score sheet
    Then the upload reports "unchanged: 4 rows identical to your current scores; nothing written"
    And nothing is written to the database

  Scenario: A corrected sheet replaces the evaluator's scores and the replaced ones stay in the history
    Given the cases of 烟台海拓机械有限公司 and 烟台万华新材料有限公司 are in the third-party evaluation
    And "eval3" has filled in its score sheet with 80.0 on every criterion
    And "eval3" has uploaded the score sheet
    And the sheet is changed: line 2 has the score 85.5
    When "eval3" uploads the score sheet
    Then the upload reports "uploaded 4 rows; 1 case(s) updated"
    And the case of 烟台海拓机械有限公司 shows the active scores of "eval3"
      | criterion           | score |
      | system_operation    | 85.5  |
      | ip_output_quality   | 80.0  |
      | ip_utilisation      | 80.0  |
      | innovation_capacity | 80.0  |
    And it keeps the 4 earlier scores of "eval3", 80.0 each, as inactive

  Scenario: A sheet saved as GBK by a Chinese-locale spreadsheet is accepted
    Given the cases of 烟台海拓机械有限公司 and 烟台万华新材料有限公司 are in the third-party evaluation
    And "eval3" has filled in its score sheet with 80.0 on every criterion and the comment "贯标后专利质量明显提升"
    And the sheet is saved in the GBK encoding
    When "eval3" uploads the score sheet
    Then the upload reports "uploaded 4 rows; 1 case(s) updated"
    And the case of 烟台海拓机械有限公司 shows the comment "贯标后专利质量明显提升" from "eval3" on every criterion
