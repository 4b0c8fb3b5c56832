import streamlit as st

st.title("5_compare_backbones")
st.info("coming")
