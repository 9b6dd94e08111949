"""Shared spaces (households, businesses): the user service is where they live and who is in them.

Every change publishes the space's whole membership as `space.membership_changed`; the other
services keep it in their read model (pfms_platform.spaces) and check `X-Space-ID` against it.
"""
