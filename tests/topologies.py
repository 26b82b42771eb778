"""Topology files the tests share."""

# two hosts on a cable, a 10.0.0.1/24 and b 10.0.0.2/24, for the programs' tests to add their
# settings and [[run]]s to (the [[link]] table comes last: keys after it are the link's)
TWO_HOSTS = '''
[[host]]
name = "a"

[[host]]
name = "b"

[[link]]
a = "a"
b = "b"
a_addr = "10.0.0.1/24"
b_addr = "10.0.0.2/24"
'''
