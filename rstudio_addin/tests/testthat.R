library(testthat)
library(jupyterspaces)

test_check("jupyterspaces")
