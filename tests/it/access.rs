//! Back-office access tests.
