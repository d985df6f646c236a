// Tests of the Distributed module.
