Feature: 统一社会信用代码 of applicants
  An applicant is identified by its 统一社会信用代码 (unified social credit code). The engine checks
  the code against GB 32100-2015 when the applicant registers, names the first check that fails and
  says how to correct it.

  Scenario: A valid credit code is accepted
    When an applicant registers with the credit code "91350100M000100Y43"
    Then the credit code is accepted as "91350100M000100Y43"

  Scenario: A credit code typed in lower case with spaces around it is accepted in normal form
    When an applicant registers with the credit code " 91110000600037341l "
    Then the credit code is accepted as "91110000600037341L"

  Scenario: The administrative division of a credit code is read from positions 3 to 8
    When an applicant registers with the credit code "91110000600037341L"
    Then the applicant's division is "110000"

  Scenario: A generated applicant of 芝罘区 has a valid credit code
    When a synthetic applicant of division "370602" is generated with serial number 42
    Then its credit code passes every GB 32100-2015 check
    And the applicant's division is "370602"

  Scenario Outline: A credit code failing one check is rejected and the check is named
    When an applicant registers with the credit code "<code>"
    Then the credit code is rejected by the "<check>" check
    And the reason says "<reason>"

    Examples:
      | code                | check          | reason                                               |
      | 91350100M000100Y4   | length         | has 17 characters; a 统一社会信用代码 has exactly 18 |
      | 91350100MOOO100Y43  | charset        | 'O' is probably '0'                                  |
      | 9135O100M000100Y43  | charset        | 'O' at position 5                                    |
      | 9135010AM000100Y43  | division       | must be digits only                                  |
      | 91350100M000100Y53  | org_code_check | should be '4', not '5' (GB 11714 check)              |
      | 91350100M000100Y42  | check_char     | the 18th character should be '3'                     |
