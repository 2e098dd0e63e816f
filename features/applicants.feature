Feature: Importing applicants from a spreadsheet
  Applicants to every scheme of 烟政字〔2020〕47号 — enterprises, universities and research institutes
  (二(二)4), SMEs for custody vouchers (二(二)5) and whitelisted firms for pledge subsidies (二(三)8) — are
  identified by their 统一社会信用代码 (GB 32100-2015) and must be registered in a district of Yantai.
  A reviewer imports them from a CSV file with the columns name,uscc,kind,district,sme,whitelist. The
  import is all rows or none: every bad row is reported with its line number and reason.

  Background:
    Given the reviewer "li" may import applicants

  Scenario: A file of three applicants saved as plain UTF-8 is imported
    Given a CSV file saved as UTF-8 with the rows
      | name                   | uscc | kind       | district | sme   | whitelist |
      | 烟台海拓精密机械有限公司 | #1   | enterprise | 370602   | true  | false     |
      | 烟台大学               | #2   | university | 370613   | false | false     |
      | 烟台市科学技术研究院     | #3   | institute  | 370671   | no    | yes       |
    When "li" imports the file
    Then the import reports 3 new applicants
    And the applicant list shows "烟台海拓精密机械有限公司" as an enterprise in 370602, an SME and not whitelisted
    And the applicant list shows "烟台市科学技术研究院" as an institute in 370671, not an SME and whitelisted

  Scenario: A file saved by Excel as "CSV UTF-8" (with a byte-order mark) is imported
    Given a CSV file saved as UTF-8 with a byte-order mark with the rows
      | name                   | uscc | kind       | district | sme  | whitelist |
      | 烟台海拓精密机械有限公司 | #1   | enterprise | 370602   | true | true      |
    When "li" imports the file
    Then the import reports 1 new applicant
    And the applicant list shows "烟台海拓精密机械有限公司" as an enterprise in 370602, an SME and whitelisted

  Scenario: Importing the same file again adds nobody
    Given a CSV file saved as UTF-8 with the rows
      | name                   | uscc | kind       | district | sme   | whitelist |
      | 烟台海拓精密机械有限公司 | #1   | enterprise | 370602   | true  | false     |
      | 烟台大学               | #2   | university | 370613   | false | false     |
    And "li" has imported the file
    When "li" imports the file
    Then the import reports 0 new applicants
    And the applicant list holds the same 2 applicants as before

  Scenario: A re-import that changes a registered applicant's details is refused and nothing is written
    Given a CSV file saved as UTF-8 with the rows
      | name                   | uscc | kind       | district | sme  | whitelist |
      | 烟台海拓精密机械有限公司 | #1   | enterprise | 370602   | true | false     |
    And "li" has imported the file
    And the file is rewritten with the rows
      | name                 | uscc | kind       | district | sme  | whitelist |
      | 烟台海拓机械有限公司 | #1   | enterprise | 370602   | true | false     |
    When "li" imports the file
    Then the import is refused naming "already registered as '烟台海拓精密机械有限公司' with other details"
    And nothing is written to the database

  Scenario Outline: One bad row among good ones refuses the whole file and names its line and reason
    Given a CSV file saved as UTF-8 with the rows
      | name                   | uscc   | kind       | district   | sme   | whitelist   |
      | 烟台海拓精密机械有限公司 | #1     | enterprise | 370602     | true  | false       |
      | 烟台万华新材料有限公司   | <uscc> | <kind>     | <district> | <sme> | <whitelist> |
      | 烟台大学               | #2     | university | 370613     | false | false       |
    When "li" imports the file
    Then the import is refused and only line 3 is reported, with "<reason>"
    And nothing is written to the database

    Examples: the row's problem
      | uscc                | kind       | district | sme   | whitelist | reason                                                       |
      | #4 last char wrong  | enterprise | 370602   | true  | false     | fails the final check                                        |
      | #4 org check wrong  | enterprise | 370602   | true  | false     | (GB 11714 check)                                             |
      | #4 with an O        | enterprise | 370602   | true  | false     | only digits and the letters ABCDEFGHJKLMNPQRTUWXY are used   |
      | #4 one char short   | enterprise | 370602   | true  | false     | has 17 characters; a 统一社会信用代码 has exactly 18          |
      | #4                  | company    | 370602   | true  | false     | kind 'company' must be one of enterprise \| university \| institute |
      | #4                  | enterprise | 370202   | true  | false     | district '370202' is not a district of the policy's jurisdiction |
      | #4                  | enterprise | 370602   | maybe | false     | sme 'maybe' must be true or false                            |
      | #4                  | enterprise | 370602   | true  | 2         | whitelist '2' must be true or false                          |
      | #1                  | enterprise | 370602   | true  | false     | already appears on line 2                                    |

  Scenario: Every bad row of a file is reported, each with its line number
    Given a CSV file saved as UTF-8 with the rows
      | name                   | uscc               | kind       | district | sme   | whitelist |
      | 烟台海拓精密机械有限公司 | #1 last char wrong | enterprise | 370602   | true  | false     |
      | 烟台大学               | #2                 | school     | 370613   | false | false     |
      | 烟台市科学技术研究院     | #3                 | institute  | 110101   | false | false     |
      | 烟台万华新材料有限公司   | #4                 | enterprise | 370602   | 是的  | false     |
      | 烟台大学（重复）        | #2                 | university | 370613   | false | false     |
    When "li" imports the file
    Then the import is refused naming every bad line
      | line | reason                               |
      | 2    | fails the final check                |
      | 3    | kind 'school' must be one of         |
      | 4    | district '110101' is not a district  |
      | 5    | sme '是的' must be true or false     |
      | 6    | already appears on line 3            |
    And nothing is written to the database
