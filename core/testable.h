/*
 * testable.h - TESTABLE marks a function that is file-static in the product but
 * visible to unit tests (built with -DUNIT_TEST), as curl's UNITTEST. Declare
 * such functions for the tests in the module's header inside #ifdef UNIT_TEST.
 */
#ifndef AMR_TESTABLE_H
#define AMR_TESTABLE_H

#ifdef UNIT_TEST
#define TESTABLE
#else
#define TESTABLE static
#endif

#endif
