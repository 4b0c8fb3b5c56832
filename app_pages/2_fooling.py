import streamlit as st

st.title("2_fooling")
st.info("coming")
